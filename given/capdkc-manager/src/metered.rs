//! A Docker engine that counts its calls: every operation goes to the real engine and is recorded
//! in `capdkc_docker_calls_total{op,result}`.

use std::collections::BTreeMap;
use std::sync::Arc;

use capdkc_docker::runtime::{
    ContainerEvent, ContainerInfo, ContainerSpec, ExecOutput, ExecRequest, FileUpload,
};
use capdkc_docker::{ContainerRuntime, RuntimeResult};
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::metrics::Metrics;

/// `D`, with every call counted.
#[derive(Clone)]
pub struct Metered<D> {
    inner: D,
    metrics: Arc<Metrics>,
}

impl<D> Metered<D> {
    pub fn new(inner: D, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }

    fn count<T>(&self, op: &'static str, result: RuntimeResult<T>) -> RuntimeResult<T> {
        self.metrics.observe_docker_call(op, result.is_ok());
        result
    }
}

impl<D: ContainerRuntime> ContainerRuntime for Metered<D> {
    async fn create(&self, spec: &ContainerSpec) -> RuntimeResult<String> {
        self.count("create", self.inner.create(spec).await)
    }
    async fn start(&self, name: &str) -> RuntimeResult<()> {
        self.count("start", self.inner.start(name).await)
    }
    async fn inspect(&self, name: &str) -> RuntimeResult<ContainerInfo> {
        self.count("inspect", self.inner.inspect(name).await)
    }
    async fn list_by_labels(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> RuntimeResult<Vec<ContainerInfo>> {
        self.count("list", self.inner.list_by_labels(labels).await)
    }
    async fn exec(&self, name: &str, req: &ExecRequest) -> RuntimeResult<ExecOutput> {
        self.count("exec", self.inner.exec(name, req).await)
    }
    async fn copy_file_in(&self, name: &str, file: &FileUpload) -> RuntimeResult<()> {
        self.count("copy_file_in", self.inner.copy_file_in(name, file).await)
    }
    async fn read_file(&self, name: &str, path: &str) -> RuntimeResult<Vec<u8>> {
        self.count("read_file", self.inner.read_file(name, path).await)
    }
    async fn signal(&self, name: &str, signal: &str) -> RuntimeResult<()> {
        self.count("signal", self.inner.signal(name, signal).await)
    }
    async fn remove(&self, name: &str) -> RuntimeResult<()> {
        self.count("remove", self.inner.remove(name).await)
    }
    async fn ensure_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> RuntimeResult<()> {
        self.count(
            "ensure_network",
            self.inner.ensure_network(name, labels).await,
        )
    }
    async fn remove_network(&self, name: &str) -> RuntimeResult<()> {
        self.count("remove_network", self.inner.remove_network(name).await)
    }
    /// The subscription counts as one call (`op="events"`), and each event it brings in
    /// `capdkc_docker_events_total{action}`.
    fn container_events(
        &self,
        label_filters: &[String],
    ) -> BoxStream<'static, RuntimeResult<ContainerEvent>> {
        self.metrics.observe_docker_call("events", true);
        let metrics = self.metrics.clone();
        Box::pin(
            self.inner
                .container_events(label_filters)
                .inspect(move |event| {
                    if let Ok(event) = event {
                        metrics.observe_docker_event(&event.action);
                    }
                }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capdkc_docker::fake::FakeRuntime;

    #[tokio::test]
    async fn every_call_is_counted_by_operation_and_result() {
        let metrics = Arc::new(Metrics::default());
        let docker = Metered::new(FakeRuntime::new(), metrics.clone());
        assert!(docker.inspect("missing").await.is_err());
        docker.remove("missing").await.expect("missing is success");
        let text = metrics.encode().expect("encodes");
        for line in [
            "capdkc_docker_calls_total{op=\"inspect\",result=\"error\"} 1",
            "capdkc_docker_calls_total{op=\"remove\",result=\"success\"} 1",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
    }
}
