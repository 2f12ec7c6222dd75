//! [`Engine`]: any [`ContainerRuntime`] behind one concrete, cheaply cloned type, so that the
//! provider's code names no generic engine parameter: the real engine, a recording fake in unit
//! tests, or either of them wrapped (counted in metrics, say) are all an `Engine`.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures::stream::BoxStream;

use crate::runtime::{
    ContainerEvent, ContainerInfo, ContainerRuntime, ContainerSpec, ExecOutput, ExecRequest,
    FileUpload, RuntimeResult,
};

type Call<'a, T> = Pin<Box<dyn Future<Output = RuntimeResult<T>> + Send + 'a>>;

/// [`ContainerRuntime`] with boxed futures, so that it can be used as a trait object.
trait DynRuntime: Send + Sync {
    fn create<'a>(&'a self, spec: &'a ContainerSpec) -> Call<'a, String>;
    fn start<'a>(&'a self, name: &'a str) -> Call<'a, ()>;
    fn inspect<'a>(&'a self, name: &'a str) -> Call<'a, ContainerInfo>;
    fn list_by_labels<'a>(
        &'a self,
        labels: &'a BTreeMap<String, String>,
    ) -> Call<'a, Vec<ContainerInfo>>;
    fn exec<'a>(&'a self, name: &'a str, req: &'a ExecRequest) -> Call<'a, ExecOutput>;
    fn copy_file_in<'a>(&'a self, name: &'a str, file: &'a FileUpload) -> Call<'a, ()>;
    fn read_file<'a>(&'a self, name: &'a str, path: &'a str) -> Call<'a, Vec<u8>>;
    fn signal<'a>(&'a self, name: &'a str, signal: &'a str) -> Call<'a, ()>;
    fn remove<'a>(&'a self, name: &'a str) -> Call<'a, ()>;
    fn ensure_network<'a>(
        &'a self,
        name: &'a str,
        labels: &'a BTreeMap<String, String>,
    ) -> Call<'a, ()>;
    fn remove_network<'a>(&'a self, name: &'a str) -> Call<'a, ()>;
    fn container_events(
        &self,
        label_filters: &[String],
    ) -> BoxStream<'static, RuntimeResult<ContainerEvent>>;
}

impl<R: ContainerRuntime> DynRuntime for R {
    fn create<'a>(&'a self, spec: &'a ContainerSpec) -> Call<'a, String> {
        Box::pin(ContainerRuntime::create(self, spec))
    }
    fn start<'a>(&'a self, name: &'a str) -> Call<'a, ()> {
        Box::pin(ContainerRuntime::start(self, name))
    }
    fn inspect<'a>(&'a self, name: &'a str) -> Call<'a, ContainerInfo> {
        Box::pin(ContainerRuntime::inspect(self, name))
    }
    fn list_by_labels<'a>(
        &'a self,
        labels: &'a BTreeMap<String, String>,
    ) -> Call<'a, Vec<ContainerInfo>> {
        Box::pin(ContainerRuntime::list_by_labels(self, labels))
    }
    fn exec<'a>(&'a self, name: &'a str, req: &'a ExecRequest) -> Call<'a, ExecOutput> {
        Box::pin(ContainerRuntime::exec(self, name, req))
    }
    fn copy_file_in<'a>(&'a self, name: &'a str, file: &'a FileUpload) -> Call<'a, ()> {
        Box::pin(ContainerRuntime::copy_file_in(self, name, file))
    }
    fn read_file<'a>(&'a self, name: &'a str, path: &'a str) -> Call<'a, Vec<u8>> {
        Box::pin(ContainerRuntime::read_file(self, name, path))
    }
    fn signal<'a>(&'a self, name: &'a str, signal: &'a str) -> Call<'a, ()> {
        Box::pin(ContainerRuntime::signal(self, name, signal))
    }
    fn remove<'a>(&'a self, name: &'a str) -> Call<'a, ()> {
        Box::pin(ContainerRuntime::remove(self, name))
    }
    fn ensure_network<'a>(
        &'a self,
        name: &'a str,
        labels: &'a BTreeMap<String, String>,
    ) -> Call<'a, ()> {
        Box::pin(ContainerRuntime::ensure_network(self, name, labels))
    }
    fn remove_network<'a>(&'a self, name: &'a str) -> Call<'a, ()> {
        Box::pin(ContainerRuntime::remove_network(self, name))
    }
    fn container_events(
        &self,
        label_filters: &[String],
    ) -> BoxStream<'static, RuntimeResult<ContainerEvent>> {
        ContainerRuntime::container_events(self, label_filters)
    }
}

/// A container engine of any kind. Clones share the engine.
#[derive(Clone)]
pub struct Engine(Arc<dyn DynRuntime>);

impl Engine {
    /// Wraps `runtime`.
    pub fn new(runtime: impl ContainerRuntime + 'static) -> Self {
        Self(Arc::new(runtime))
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Engine")
    }
}

impl ContainerRuntime for Engine {
    async fn create(&self, spec: &ContainerSpec) -> RuntimeResult<String> {
        self.0.create(spec).await
    }
    async fn start(&self, name: &str) -> RuntimeResult<()> {
        self.0.start(name).await
    }
    async fn inspect(&self, name: &str) -> RuntimeResult<ContainerInfo> {
        self.0.inspect(name).await
    }
    async fn list_by_labels(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> RuntimeResult<Vec<ContainerInfo>> {
        self.0.list_by_labels(labels).await
    }
    async fn exec(&self, name: &str, req: &ExecRequest) -> RuntimeResult<ExecOutput> {
        self.0.exec(name, req).await
    }
    async fn copy_file_in(&self, name: &str, file: &FileUpload) -> RuntimeResult<()> {
        self.0.copy_file_in(name, file).await
    }
    async fn read_file(&self, name: &str, path: &str) -> RuntimeResult<Vec<u8>> {
        self.0.read_file(name, path).await
    }
    async fn signal(&self, name: &str, signal: &str) -> RuntimeResult<()> {
        self.0.signal(name, signal).await
    }
    async fn remove(&self, name: &str) -> RuntimeResult<()> {
        self.0.remove(name).await
    }
    async fn ensure_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> RuntimeResult<()> {
        self.0.ensure_network(name, labels).await
    }
    async fn remove_network(&self, name: &str) -> RuntimeResult<()> {
        self.0.remove_network(name).await
    }
    fn container_events(
        &self,
        label_filters: &[String],
    ) -> BoxStream<'static, RuntimeResult<ContainerEvent>> {
        self.0.container_events(label_filters)
    }
}
