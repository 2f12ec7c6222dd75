//! Newtypes for bytes that must never be printed: bootstrap data and file bodies.
//!
//! `Debug` and `Display` show only the length, so a stray `{:?}` in a log line or an error
//! message cannot leak a kubeadm token or a private key.

use std::fmt;

// ANCHOR: sensitive
/// Opaque bytes (a file body, an exec's stdin). Printing shows `<N bytes>` only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Sensitive(Vec<u8>);

impl Sensitive {
    /// Wrap bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The bytes, for the one place that writes them to Docker.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sensitive(<{} bytes>)", self.0.len())
    }
}
// ANCHOR_END: sensitive

// ANCHOR: bootstrap_data
/// The bootstrap Secret's `value`: a cloud-config with certificates and a join token.
#[derive(Clone, PartialEq, Eq)]
pub struct BootstrapData(Sensitive);

impl BootstrapData {
    /// Wrap the Secret's bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(Sensitive::new(bytes))
    }

    /// The raw bytes, for the parser only.
    pub fn expose(&self) -> &[u8] {
        self.0.expose()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for BootstrapData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BootstrapData(<{} bytes>)", self.len())
    }
}

impl fmt::Display for BootstrapData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<bootstrap data, {} bytes>", self.len())
    }
}
// ANCHOR_END: bootstrap_data

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_print_only_the_length() {
        let token = "abcdef.0123456789abcdef";
        let data = BootstrapData::new(format!("join with {token}"));
        assert_eq!(format!("{data:?}"), "BootstrapData(<33 bytes>)");
        assert_eq!(format!("{data}"), "<bootstrap data, 33 bytes>");
        let body = Sensitive::new(token);
        assert!(!format!("{body:?}").contains(token));
    }
}
