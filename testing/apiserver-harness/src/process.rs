//! Child processes that cannot outlive the test that started them.
//!
//! Each child runs in its own process group (so a stop reaches anything it forks) and gets SIGKILL
//! from the kernel when the test process dies, because a killed or interrupted `cargo test` runs no
//! destructors, and a child in its own process group does not receive the terminal's Ctrl-C.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group, set_parent_process_death_signal};

use crate::Error;

/// How much of a log an error message quotes.
const LOG_TAIL_BYTES: u64 = 4096;

/// A running child with its output in a log file; killed (with its process group) on drop.
#[derive(Debug)]
pub struct ManagedProcess {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl ManagedProcess {
    /// Starts `program` with `args`, stdout and stderr appended to `log`.
    ///
    /// The kernel's parent-death signal fires when the spawning *thread* exits, so call this from
    /// a thread that lives as long as the value (the test's thread or a runtime worker), never
    /// from `spawn_blocking`, whose idle threads exit after a few seconds.
    pub fn spawn(
        name: &'static str,
        program: &Path,
        args: &[String],
        log: PathBuf,
    ) -> Result<Self, Error> {
        let out = File::create(&log).map_err(|e| Error::io("creating a log file", &log, e))?;
        let err = out
            .try_clone()
            .map_err(|e| Error::io("opening a log file", &log, e))?;
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        // SAFETY: the closure runs between fork and exec and only makes one prctl system call,
        // which is async-signal-safe and touches no memory of the parent.
        unsafe {
            command.pre_exec(|| {
                set_parent_process_death_signal(Some(Signal::KILL)).map_err(std::io::Error::from)
            });
        }
        let child = command
            .spawn()
            .map_err(|e| Error::io("starting a process", program, e))?;
        tracing::debug!(name, pid = child.id(), log = %log.display(), "started");
        Ok(Self { name, child, log })
    }

    /// The process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The log file with the process's stdout and stderr.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// An error if the process has exited: used while waiting for readiness, to fail fast with
    /// the reason instead of waiting for the timeout.
    pub fn check_running(&mut self) -> Result<(), Error> {
        match self.child.try_wait() {
            Ok(Some(status)) => Err(self.exited_early(status)),
            Ok(None) => Ok(()),
            Err(source) => Err(Error::io("checking a process", &self.log, source)),
        }
    }

    /// The error for "not ready in time", with the log tail.
    pub fn not_ready(&self, timeout: Duration) -> Error {
        Error::NotReady {
            name: self.name,
            timeout,
            log: self.log.clone(),
            log_tail: log_tail(&self.log),
        }
    }

    fn exited_early(&self, status: ExitStatus) -> Error {
        Error::ExitedEarly {
            name: self.name,
            status,
            log: self.log.clone(),
            log_tail: log_tail(&self.log),
        }
    }

    /// Kills the process group and reaps the child. SIGKILL, not SIGTERM: everything these
    /// processes keep (etcd data, caches) is thrown away with the temp dir, and a graceful
    /// kube-apiserver shutdown would cost each test seconds.
    fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let group = i32::try_from(self.child.id()).ok().and_then(Pid::from_raw);
        match group {
            Some(group) => {
                if let Err(error) = kill_process_group(group, Signal::KILL) {
                    tracing::warn!(name = self.name, %error, "killing the process group failed");
                    let _ = self.child.kill();
                }
            }
            None => {
                let _ = self.child.kill();
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        tracing::warn!(
            name = self.name,
            pid = self.child.id(),
            "still running after SIGKILL"
        );
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A loopback port that was free a moment ago. The listener is closed before the port is handed
/// to a child, so another process could take it in between; the kernel hands out ephemeral ports
/// round-robin, which makes that rare enough for tests.
pub fn free_port() -> Result<u16, Error> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(Error::FreePort)?;
    let port = listener.local_addr().map_err(Error::FreePort)?.port();
    Ok(port)
}

/// The last few KiB of a log file, for error messages.
pub fn log_tail(path: &Path) -> String {
    let read = || -> std::io::Result<String> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(LOG_TAIL_BYTES)))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    read().unwrap_or_else(|error| format!("(log unreadable: {error})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_kills_the_whole_process_group() {
        let dir = tempfile::tempdir().expect("temp dir");
        let pid_file = dir.path().join("grandchild.pid");
        // The shell forks a grandchild and waits; only a group kill reaches the grandchild.
        let script = format!("sleep 300 & echo $! > {}; wait", pid_file.display());
        let process = ManagedProcess::spawn(
            "sh",
            Path::new("/bin/sh"),
            &["-c".to_owned(), script],
            dir.path().join("sh.log"),
        )
        .expect("spawn");
        let deadline = Instant::now() + Duration::from_secs(5);
        let grandchild = loop {
            if let Some(pid) = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|text| text.trim().parse::<u32>().ok())
            {
                break pid;
            }
            assert!(Instant::now() < deadline, "the shell never wrote the pid");
            std::thread::sleep(Duration::from_millis(10));
        };
        let child = process.pid();
        drop(process);
        // The grandchild is reparented and reaped by init, so poll briefly.
        let deadline = Instant::now() + Duration::from_secs(5);
        while is_alive(grandchild) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!is_alive(child), "child {child} survived");
        assert!(!is_alive(grandchild), "grandchild {grandchild} survived");
    }

    #[test]
    fn an_early_exit_reports_the_log_tail() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut process = ManagedProcess::spawn(
            "sh",
            Path::new("/bin/sh"),
            &[
                "-c".to_owned(),
                "echo 'bind: address already in use' >&2; exit 3".to_owned(),
            ],
            dir.path().join("sh.log"),
        )
        .expect("spawn");
        let deadline = Instant::now() + Duration::from_secs(5);
        let error = loop {
            if let Err(error) = process.check_running() {
                break error.to_string();
            }
            assert!(Instant::now() < deadline, "never exited");
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(error.contains("address already in use"), "{error}");
        assert!(error.contains("exit status: 3"), "{error}");
    }

    /// A zombie is not alive for our purposes: `/proc/<pid>/stat` state `Z` or no entry at all.
    fn is_alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().next().map(|s| s != "Z"))
            })
            .unwrap_or(false)
    }
}
