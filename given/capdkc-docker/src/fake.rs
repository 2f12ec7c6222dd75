//! A recording, in-memory [`ContainerRuntime`] for unit tests.
//!
//! It records every call in order (so tests can assert exact call sequences and that secrets
//! never reach argv or env), keeps containers and files in maps, understands the layer's own
//! helper scripts (file writes and the bootstrap state probe), and can be told to fail the
//! next call of an operation.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use futures::stream::BoxStream;
use tokio::sync::broadcast;

use crate::runtime::{
    ContainerEvent, ContainerInfo, ContainerRuntime, ContainerSpec, ExecOutput, ExecRequest,
    FileUpload, RuntimeError, RuntimeResult,
};
use crate::secret::Sensitive;

/// One recorded call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// `create` with the full spec (boxed: it dwarfs the other variants).
    Create(Box<ContainerSpec>),
    /// `start`.
    Start(String),
    /// `inspect`.
    Inspect(String),
    /// `list_by_labels`.
    List(BTreeMap<String, String>),
    /// `exec`: container, argv and stdin.
    Exec {
        /// Container name.
        container: String,
        /// argv as sent.
        argv: Vec<String>,
        /// stdin as sent.
        stdin: Option<Sensitive>,
    },
    /// `copy_file_in`.
    CopyIn {
        /// Container name.
        container: String,
        /// The upload.
        file: FileUpload,
    },
    /// `read_file`.
    ReadFile {
        /// Container name.
        container: String,
        /// Path read.
        path: String,
    },
    /// `signal`.
    Signal {
        /// Container name.
        container: String,
        /// Signal name.
        signal: String,
    },
    /// `remove`.
    Remove(String),
    /// `ensure_network`.
    EnsureNetwork(String),
    /// `remove_network`.
    RemoveNetwork(String),
}

impl Call {
    /// True for calls that change Docker state (idempotency checks count these).
    pub fn is_mutating(&self) -> bool {
        !matches!(
            self,
            Call::Inspect(_) | Call::List(_) | Call::ReadFile { .. }
        )
    }
}

type ExecHook = Arc<dyn Fn(&str, &ExecRequest) -> Option<ExecOutput> + Send + Sync>;

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    /// Where container events go to their subscribers; `None` until the first subscription,
    /// and again after [`FakeRuntime::end_event_streams`].
    events: Option<broadcast::Sender<ContainerEvent>>,
    containers: BTreeMap<String, ContainerInfo>,
    files: BTreeMap<(String, String), Vec<u8>>,
    failures: BTreeMap<&'static str, VecDeque<RuntimeError>>,
    next_ip: u8,
    next_port: u16,
    tamper_next_upload: bool,
}

impl State {
    /// Tells the event subscribers, if any, that `action` happened to `container`.
    fn publish(&self, action: &str, container: &ContainerInfo) {
        if let Some(events) = &self.events {
            let mut attributes = container.labels.clone();
            attributes.insert("name".into(), container.name.clone());
            attributes.insert("image".into(), container.image.clone());
            let _ = events.send(ContainerEvent {
                action: action.into(),
                name: container.name.clone(),
                attributes,
            });
        }
    }
}

/// The recording fake. Clones share state.
#[derive(Clone, Default)]
pub struct FakeRuntime {
    state: Arc<Mutex<State>>,
    exec_hook: Option<ExecHook>,
}

impl FakeRuntime {
    /// An empty engine.
    pub fn new() -> Self {
        Self::default()
    }

    /// Answer execs with `hook` first; `None` falls back to the built-in emulation.
    pub fn with_exec_hook(
        mut self,
        hook: impl Fn(&str, &ExecRequest) -> Option<ExecOutput> + Send + Sync + 'static,
    ) -> Self {
        self.exec_hook = Some(Arc::new(hook));
        self
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread poisons the lock; the data is still fine for assertions.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Forget recorded calls (keep containers and files).
    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// Make the next call of `op` (`"create"`, `"start"`, `"exec"`, ...) fail with `err`.
    pub fn fail_next(&self, op: &'static str, err: RuntimeError) {
        self.lock().failures.entry(op).or_default().push_back(err);
    }

    /// Store different bytes than sent on the next `copy_file_in` (a torn or raced write),
    /// so read-back checks can be tested.
    pub fn tamper_next_upload(&self) {
        self.lock().tamper_next_upload = true;
    }

    /// Put a container in place as if someone else had created it.
    pub fn add_container(&self, info: ContainerInfo) {
        self.lock().containers.insert(info.name.clone(), info);
    }

    /// Current state of a container.
    pub fn container(&self, name: &str) -> Option<ContainerInfo> {
        self.lock().containers.get(name).cloned()
    }

    /// Stop a container as if its process had exited (a `die` event for subscribers).
    pub fn stop(&self, name: &str) {
        let mut st = self.lock();
        if let Some(c) = st.containers.get_mut(name) {
            let was_running = c.running;
            c.running = false;
            c.state = "exited".into();
            let stopped = c.clone();
            if was_running {
                st.publish("die", &stopped);
            }
        }
    }

    /// Remove a container behind the provider's back (`docker rm -f`): `die` if it ran, then
    /// `destroy`.
    pub fn remove_behind_our_back(&self, name: &str) {
        let mut st = self.lock();
        if let Some(container) = st.containers.remove(name) {
            if container.running {
                st.publish("die", &container);
            }
            st.publish("destroy", &container);
        }
    }

    /// Ends every event stream, as a daemon restart does; later subscriptions work again.
    pub fn end_event_streams(&self) {
        self.lock().events = None;
    }

    /// Place a file inside a container.
    pub fn put_file(&self, container: &str, path: &str, body: impl Into<Vec<u8>>) {
        self.lock()
            .files
            .insert((container.to_owned(), path.to_owned()), body.into());
    }

    /// A file's body, if present.
    pub fn file(&self, container: &str, path: &str) -> Option<Vec<u8>> {
        self.lock()
            .files
            .get(&(container.to_owned(), path.to_owned()))
            .cloned()
    }

    fn begin(&self, op: &'static str, call: Call) -> RuntimeResult<MutexGuard<'_, State>> {
        let mut st = self.lock();
        st.calls.push(call);
        if let Some(err) = st.failures.get_mut(op).and_then(VecDeque::pop_front) {
            return Err(err);
        }
        Ok(st)
    }

    fn missing(name: &str) -> RuntimeError {
        RuntimeError::NotFound(format!("No such container: {name}"))
    }

    /// Built-in emulation of the layer's helper scripts (see `crate::bootstrap::run`).
    fn emulate(st: &mut State, container: &str, req: &ExecRequest) -> ExecOutput {
        let ok = ExecOutput {
            exit_code: 0,
            ..Default::default()
        };
        match req.argv.get(3).map(String::as_str) {
            Some(crate::bootstrap::run::WRITE_SCRIPT_NAME) => {
                let (Some(script), Some(path)) = (req.argv.get(2), req.argv.get(5)) else {
                    return ok;
                };
                let body = req
                    .stdin
                    .as_ref()
                    .map(|s| s.expose().to_vec())
                    .unwrap_or_default();
                let entry = st
                    .files
                    .entry((container.to_owned(), path.clone()))
                    .or_default();
                if script.contains(">>") {
                    entry.extend_from_slice(&body);
                } else {
                    *entry = body;
                }
                ok
            }
            Some(crate::bootstrap::run::PROBE_SCRIPT_NAME) => {
                let has = |p: &str| st.files.contains_key(&(container.to_owned(), p.to_owned()));
                let word = if has(crate::bootstrap::SUCCESS_SENTINEL) {
                    "done"
                } else if has(crate::bootstrap::STARTED_SENTINEL) {
                    "started"
                } else {
                    "fresh"
                };
                ExecOutput {
                    exit_code: 0,
                    stdout: format!("{word}\n").into_bytes(),
                    stderr: Vec::new(),
                }
            }
            Some(crate::bootstrap::run::MARK_SCRIPT_NAME) => {
                if let Some(path) = req.argv.get(4) {
                    st.files
                        .insert((container.to_owned(), path.clone()), Vec::new());
                }
                ok
            }
            // A shell line that ends the way kubeadm bootstrap data does: record success.
            _ if req.argv.first().is_some_and(|a| a == "/bin/sh")
                && req.argv.get(2).is_some_and(|l| {
                    l.contains(&format!("> {}", crate::bootstrap::SUCCESS_SENTINEL))
                }) =>
            {
                st.files.insert(
                    (
                        container.to_owned(),
                        crate::bootstrap::SUCCESS_SENTINEL.to_owned(),
                    ),
                    b"success\n".to_vec(),
                );
                ok
            }
            _ => ok,
        }
    }
}

impl ContainerRuntime for FakeRuntime {
    async fn create(&self, spec: &ContainerSpec) -> RuntimeResult<String> {
        let mut st = self.begin("create", Call::Create(Box::new(spec.clone())))?;
        if st.containers.contains_key(&spec.name) {
            return Err(RuntimeError::Conflict(format!(
                "name {} is already in use",
                spec.name
            )));
        }
        st.next_ip = st.next_ip.wrapping_add(1);
        st.next_port = st.next_port.wrapping_add(1);
        let ip = format!("172.30.0.{}", st.next_ip.max(2));
        let port = 40000 + st.next_port;
        let info = ContainerInfo {
            id: format!("fake-{}", spec.name),
            name: spec.name.clone(),
            image: spec.image.clone(),
            labels: spec.labels.clone(),
            running: false,
            state: "created".into(),
            networks: spec
                .network
                .iter()
                .map(|n| (n.clone(), ip.clone()))
                .collect(),
            published_ports: spec
                .ports
                .iter()
                .map(|p| (p.container_port.clone(), p.host_port.unwrap_or(port)))
                .collect(),
        };
        let id = info.id.clone();
        st.containers.insert(spec.name.clone(), info);
        Ok(id)
    }

    async fn start(&self, name: &str) -> RuntimeResult<()> {
        let mut st = self.begin("start", Call::Start(name.to_owned()))?;
        let c = st
            .containers
            .get_mut(name)
            .ok_or_else(|| Self::missing(name))?;
        c.running = true;
        c.state = "running".into();
        Ok(())
    }

    async fn inspect(&self, name: &str) -> RuntimeResult<ContainerInfo> {
        let st = self.begin("inspect", Call::Inspect(name.to_owned()))?;
        st.containers
            .get(name)
            .cloned()
            .ok_or_else(|| Self::missing(name))
    }

    async fn list_by_labels(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> RuntimeResult<Vec<ContainerInfo>> {
        let st = self.begin("list", Call::List(labels.clone()))?;
        Ok(st
            .containers
            .values()
            .filter(|c| labels.iter().all(|(k, v)| c.labels.get(k) == Some(v)))
            .cloned()
            .collect())
    }

    async fn exec(&self, name: &str, req: &ExecRequest) -> RuntimeResult<ExecOutput> {
        let call = Call::Exec {
            container: name.to_owned(),
            argv: req.argv.clone(),
            stdin: req.stdin.clone(),
        };
        let st = self.begin("exec", call)?;
        match st.containers.get(name) {
            None => return Err(Self::missing(name)),
            Some(c) if !c.running => {
                return Err(RuntimeError::Conflict(format!(
                    "container {name} is not running"
                )));
            }
            Some(_) => {}
        }
        // The hook may call back into the fake (put_file), so it runs without the lock.
        drop(st);
        if let Some(hook) = &self.exec_hook
            && let Some(out) = hook(name, req)
        {
            return Ok(out);
        }
        Ok(Self::emulate(&mut self.lock(), name, req))
    }

    async fn copy_file_in(&self, name: &str, file: &FileUpload) -> RuntimeResult<()> {
        let call = Call::CopyIn {
            container: name.to_owned(),
            file: file.clone(),
        };
        let mut st = self.begin("copy_file_in", call)?;
        if !st.containers.contains_key(name) {
            return Err(Self::missing(name));
        }
        let mut body = file.contents.expose().to_vec();
        if std::mem::take(&mut st.tamper_next_upload) {
            body.truncate(body.len() / 2);
        }
        st.files.insert((name.to_owned(), file.path.clone()), body);
        Ok(())
    }

    async fn read_file(&self, name: &str, path: &str) -> RuntimeResult<Vec<u8>> {
        let call = Call::ReadFile {
            container: name.to_owned(),
            path: path.to_owned(),
        };
        let st = self.begin("read_file", call)?;
        if !st.containers.contains_key(name) {
            return Err(Self::missing(name));
        }
        st.files
            .get(&(name.to_owned(), path.to_owned()))
            .cloned()
            .ok_or_else(|| RuntimeError::NotFound(format!("no such file: {path}")))
    }

    async fn signal(&self, name: &str, signal: &str) -> RuntimeResult<()> {
        let call = Call::Signal {
            container: name.to_owned(),
            signal: signal.to_owned(),
        };
        let st = self.begin("signal", call)?;
        match st.containers.get(name) {
            None => Err(Self::missing(name)),
            Some(c) if !c.running => Err(RuntimeError::Conflict(format!(
                "container {name} is not running"
            ))),
            Some(_) => Ok(()),
        }
    }

    async fn remove(&self, name: &str) -> RuntimeResult<()> {
        let mut st = self.begin("remove", Call::Remove(name.to_owned()))?;
        if let Some(container) = st.containers.remove(name) {
            if container.running {
                st.publish("die", &container);
            }
            st.publish("destroy", &container);
        }
        st.files.retain(|(c, _), _| c != name);
        Ok(())
    }

    fn container_events(
        &self,
        label_filters: &[String],
    ) -> BoxStream<'static, RuntimeResult<ContainerEvent>> {
        let receiver = self
            .lock()
            .events
            .get_or_insert_with(|| broadcast::channel(1024).0)
            .subscribe();
        let filters = label_filters.to_vec();
        let matches = move |event: &ContainerEvent| {
            filters.iter().all(|filter| match filter.split_once('=') {
                Some((key, value)) => event.attributes.get(key).map(String::as_str) == Some(value),
                None => event.attributes.contains_key(filter),
            })
        };
        Box::pin(futures::stream::unfold(receiver, move |mut receiver| {
            let matches = matches.clone();
            async move {
                loop {
                    match receiver.recv().await {
                        Ok(event) if matches(&event) => return Some((Ok(event), receiver)),
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        }))
    }

    async fn ensure_network(
        &self,
        name: &str,
        _labels: &BTreeMap<String, String>,
    ) -> RuntimeResult<()> {
        let _st = self.begin("ensure_network", Call::EnsureNetwork(name.to_owned()))?;
        Ok(())
    }

    async fn remove_network(&self, name: &str) -> RuntimeResult<()> {
        let _st = self.begin("remove_network", Call::RemoveNetwork(name.to_owned()))?;
        Ok(())
    }
}
