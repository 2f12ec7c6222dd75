//! Work that outlives a reconcile, one task per object (a bootstrap that takes minutes, say): a
//! reconcile starts it and returns at once; when the task ends it asks for a reconcile of its
//! object, which then reads the outcome. Level-triggered all the same: the outcome is state the
//! next reconcile looks at, not an event it must not miss.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::channel::mpsc;
use kube::Resource;
use kube::runtime::reflector::ObjectRef;
use tokio_util::sync::CancellationToken;

use crate::triggers::Triggers;

// ANCHOR: progress
/// Where an object's task stands, as far as this process knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress<E> {
    Running,
    Succeeded,
    /// Terminal: the task will not run again in this process.
    Failed(E),
}
// ANCHOR_END: progress

/// Told how long each finished task took and whether it succeeded (for a metric, say).
type Observer = Arc<dyn Fn(Duration, bool) + Send + Sync>;

/// The running and finished tasks, by object UID.
pub struct BackgroundTasks<K: Resource<DynamicType = ()>, E> {
    tasks: Mutex<HashMap<String, Task<E>>>,
    finished: Triggers<K>,
    observer: Option<Observer>,
}

struct Task<E> {
    progress: Arc<Mutex<Progress<E>>>,
    note: Arc<Mutex<Option<String>>>,
    cancel: CancellationToken,
}

/// A running task's word on what it is doing or waiting for ("the node is booting"), for its
/// object's status. A new note asks for a reconcile of the object, so the status follows it;
/// repeating the same note asks for nothing.
pub struct Note<K: Resource<DynamicType = ()>> {
    text: Arc<Mutex<Option<String>>>,
    object: ObjectRef<K>,
    changed: Triggers<K>,
}

impl<K: Resource<DynamicType = ()>> Note<K> {
    /// Replaces the note.
    pub fn set(&self, text: &str) {
        let mut current = self.text.lock().unwrap_or_else(|p| p.into_inner());
        if current.as_deref() == Some(text) {
            return;
        }
        *current = Some(text.to_owned());
        drop(current);
        self.changed.trigger(self.object.clone());
    }
}

impl<K, E> BackgroundTasks<K, E>
where
    K: Resource<DynamicType = ()> + 'static,
    E: Clone + Send + 'static,
{
    /// The tasks, and the stream of objects whose task finished, for `Controller::reconcile_on`.
    pub fn new() -> (Self, mpsc::UnboundedReceiver<ObjectRef<K>>) {
        let (finished, reconcile_requests) = Triggers::channel();
        let tasks = Self {
            tasks: Mutex::new(HashMap::new()),
            finished,
            observer: None,
        };
        (tasks, reconcile_requests)
    }

    /// Tells `observer` how long each task took and whether it succeeded.
    pub fn observed_by(
        mut self,
        observer: impl Fn(Duration, bool) + Send + Sync + 'static,
    ) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// The progress of the task for `uid`, if this process started one.
    pub fn progress(&self, uid: &str) -> Option<Progress<E>> {
        let tasks = self.lock();
        let task = tasks.get(uid)?;
        let progress = task.progress.lock().unwrap_or_else(|p| p.into_inner());
        Some(progress.clone())
    }

    /// The running task's latest [`Note`], if it left one.
    pub fn note(&self, uid: &str) -> Option<String> {
        let tasks = self.lock();
        let note = tasks
            .get(uid)?
            .note
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        note.clone()
    }

    /// Starts `work` for the object `uid` in the background, unless a task for it exists already.
    pub fn start<F>(&self, uid: &str, object: ObjectRef<K>, work: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        self.start_noted(uid, object, |_| work);
    }

    // ANCHOR: start_noted
    /// Like [`BackgroundTasks::start`], the work given a [`Note`] to say what it is doing.
    pub fn start_noted<F>(&self, uid: &str, object: ObjectRef<K>, work: impl FnOnce(Note<K>) -> F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        let mut tasks = self.lock();
        if tasks.contains_key(uid) {
            return;
        }
        let note = Arc::new(Mutex::new(None));
        let work = work(Note {
            text: note.clone(),
            object: object.clone(),
            changed: self.finished.clone(),
        });
        let progress = Arc::new(Mutex::new(Progress::Running));
        let cancel = CancellationToken::new();
        let (report, stopped, finished) = (progress.clone(), cancel.clone(), self.finished.clone());
        let observer = self.observer.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let outcome = tokio::select! {
                () = stopped.cancelled() => return,
                outcome = work => outcome,
            };
            if let Some(observe) = observer {
                observe(started.elapsed(), outcome.is_ok());
            }
            *report.lock().unwrap_or_else(|p| p.into_inner()) = match outcome {
                Ok(()) => Progress::Succeeded,
                Err(error) => Progress::Failed(error),
            };
            finished.trigger(object);
        });
        tasks.insert(
            uid.to_owned(),
            Task {
                progress,
                note,
                cancel,
            },
        );
    }

    /// Stops the task for `uid` (its object is being deleted) and forgets it.
    pub fn cancel(&self, uid: &str) {
        if let Some(task) = self.lock().remove(uid) {
            task.cancel.cancel();
        }
    }
    // ANCHOR_END: start_noted

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Task<E>>> {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capdkc_capi::Machine;
    use futures::StreamExt;

    #[tokio::test]
    async fn a_finished_task_reports_its_outcome_and_asks_for_a_reconcile() {
        let (tasks, mut finished) = BackgroundTasks::<Machine, String>::new();
        let object = ObjectRef::new("m").within("default");
        tasks.start("uid-1", object.clone(), async {
            Err("it broke".to_owned())
        });
        tasks.start("uid-1", object.clone(), async { Ok(()) });
        let asked = tokio::time::timeout(Duration::from_secs(1), finished.next()).await;
        assert_eq!(asked.expect("asks within a second"), Some(object));
        assert_eq!(
            tasks.progress("uid-1"),
            Some(Progress::Failed("it broke".to_owned())),
            "the second start did not replace the first task"
        );
        assert_eq!(tasks.progress("uid-2"), None);
    }

    #[tokio::test]
    async fn the_observer_hears_of_each_finished_task() {
        let heard = Arc::new(Mutex::new(Vec::new()));
        let record = heard.clone();
        let (tasks, mut finished) = BackgroundTasks::<Machine, String>::new();
        let tasks = tasks.observed_by(move |_, succeeded| record.lock().unwrap().push(succeeded));
        tasks.start("a", ObjectRef::new("a").within("default"), async { Ok(()) });
        tasks.start("b", ObjectRef::new("b").within("default"), async {
            Err("no".to_owned())
        });
        for _ in 0..2 {
            finished.next().await;
        }
        let mut heard = heard.lock().unwrap().clone();
        heard.sort();
        assert_eq!(heard, [false, true]);
    }

    #[tokio::test]
    async fn a_new_note_is_kept_and_asks_for_a_reconcile_once() {
        let (tasks, mut asked) = BackgroundTasks::<Machine, String>::new();
        let object = ObjectRef::new("m").within("default");
        let (go_on, wait) = tokio::sync::oneshot::channel::<()>();
        tasks.start_noted("uid-1", object.clone(), |note| async move {
            note.set("the node is booting");
            note.set("the node is booting");
            let _ = wait.await;
            Ok(())
        });
        let first = tokio::time::timeout(Duration::from_secs(1), asked.next()).await;
        assert_eq!(
            first.expect("a reconcile for the new note"),
            Some(object.clone())
        );
        assert_eq!(tasks.note("uid-1").as_deref(), Some("the node is booting"));
        assert_eq!(tasks.progress("uid-1"), Some(Progress::Running));
        let repeated = tokio::time::timeout(Duration::from_millis(100), asked.next()).await;
        assert!(repeated.is_err(), "the same note again asks for nothing");
        go_on.send(()).unwrap();
        let finished = tokio::time::timeout(Duration::from_secs(1), asked.next()).await;
        assert_eq!(finished.expect("the end asks too"), Some(object));
        assert_eq!(tasks.note("uid-2"), None);
    }

    #[tokio::test]
    async fn a_cancelled_task_stops_and_is_forgotten() {
        let (tasks, mut finished) = BackgroundTasks::<Machine, String>::new();
        let object = ObjectRef::new("m").within("default");
        tasks.start("uid-1", object, std::future::pending());
        assert_eq!(tasks.progress("uid-1"), Some(Progress::Running));
        tasks.cancel("uid-1");
        assert_eq!(tasks.progress("uid-1"), None);
        let asked = tokio::time::timeout(Duration::from_millis(100), finished.next()).await;
        assert!(asked.is_err(), "a cancelled task asks for nothing");
    }
}
