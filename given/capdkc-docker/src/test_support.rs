//! Names shared by the integration tests, the image build script and the benchmark.

/// Node stand-in built by `scripts/build-test-images.sh`: busybox shell and coreutils, and a
/// listener on 6443 that answers every connection with the container's hostname.
pub const NODE_TEST_IMAGE: &str = "capdkc-test/node:dev";
/// Load balancer built by `scripts/build-test-images.sh`: Debian's haproxy, reading
/// [`crate::loadbalancer::CONFIG_PATH`] and reloading on `SIGHUP` like kindest/haproxy.
pub const LB_TEST_IMAGE: &str = "capdkc-test/haproxy:dev";
