//! Parsing the subset of cloud-config that kubeadm bootstrap data uses.
//!
//! Parse errors are reported without the parser's message: that message can quote the input,
//! and the input holds keys and tokens.

use std::collections::BTreeMap;
use std::io::Read;

use base64::Engine;
use serde::Deserialize;

use super::BootstrapError;
use crate::secret::{BootstrapData, Sensitive};

/// A `permissions` value: cloud-init writes `'0640'` (string) or `0640` (YAML 1.1 octal, which
/// a YAML 1.2 parser reads as decimal 640 or rejects). Both mean the octal digits, so we take
/// the scalar's text.
#[derive(Debug)]
struct Permissions(String);

impl<'de> Deserialize<'de> for Permissions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Permissions;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("octal permissions such as '0640'")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Permissions, E> {
                Ok(Permissions(v.to_owned()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Permissions, E> {
                Ok(Permissions(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Permissions, E> {
                Ok(Permissions(v.to_string()))
            }
        }
        d.deserialize_str(Visitor)
    }
}

#[derive(Debug, Deserialize)]
struct RawWriteFile {
    path: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    permissions: Option<Permissions>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    append: bool,
}

/// A `runcmd` entry: a shell string or an argv list.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum RunCmd {
    /// Run through `/bin/sh -c`.
    Shell(String),
    /// Run as argv, no shell.
    Argv(Vec<String>),
}

#[derive(Debug, Default, Deserialize)]
struct RawCloudConfig {
    #[serde(default)]
    write_files: Vec<RawWriteFile>,
    #[serde(default)]
    runcmd: Vec<RunCmd>,
}

/// One decoded `write_files` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteFile {
    /// Absolute path.
    pub path: String,
    /// Decoded body.
    pub contents: Sensitive,
    /// Permission bits (cloud-init's default is 0644).
    pub mode: u32,
    /// `user:group` (cloud-init's default is `root:root`).
    pub owner: String,
    /// Append instead of replace.
    pub append: bool,
}

/// The parsed cloud-config.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CloudConfig {
    /// Files to write, in order.
    pub write_files: Vec<WriteFile>,
    /// Commands to run, in order.
    pub runcmd: Vec<RunCmd>,
    /// Top-level modules we do not act on (names only, for a log line).
    pub ignored_modules: Vec<String>,
}

/// Parse bootstrap data as a cloud-config.
pub fn parse(data: &BootstrapData) -> Result<CloudConfig, BootstrapError> {
    let text = std::str::from_utf8(data.expose()).map_err(|_| BootstrapError::Invalid {
        reason: "bootstrap data is not UTF-8".into(),
    })?;
    let invalid = || BootstrapError::Invalid {
        reason: "bootstrap data is not a valid cloud-config document".into(),
    };
    let keys: BTreeMap<String, serde::de::IgnoredAny> =
        serde_saphyr::from_str(text).map_err(|_| invalid())?;
    let raw: RawCloudConfig = serde_saphyr::from_str(text).map_err(|_| invalid())?;
    let ignored_modules = keys
        .into_keys()
        .filter(|k| k != "write_files" && k != "runcmd")
        .collect();
    let write_files = raw
        .write_files
        .into_iter()
        .enumerate()
        .map(|(i, f)| decode(i, f))
        .collect::<Result<_, _>>()?;
    Ok(CloudConfig {
        write_files,
        runcmd: raw.runcmd,
        ignored_modules,
    })
}

fn decode(index: usize, f: RawWriteFile) -> Result<WriteFile, BootstrapError> {
    let bad = |what: &str| BootstrapError::Invalid {
        reason: format!("write_files[{index}] ({}): {what}", f.path),
    };
    if !f.path.starts_with('/') {
        return Err(bad("path is not absolute"));
    }
    let encoding = f
        .encoding
        .as_deref()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let b64 = |s: &str| {
        let compact: String = s.split_whitespace().collect();
        base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|_| bad("invalid base64"))
    };
    let gunzip = |bytes: &[u8]| {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|_| bad("invalid gzip"))?;
        Ok::<_, BootstrapError>(out)
    };
    let contents = match encoding.as_str() {
        "" | "text/plain" => f.content.clone().into_bytes(),
        "b64" | "base64" => b64(&f.content)?,
        "gz+b64" | "gzip+base64" | "gz+base64" | "gzip+b64" => gunzip(&b64(&f.content)?)?,
        "gz" | "gzip" => gunzip(f.content.as_bytes())?,
        other => return Err(bad(&format!("unknown encoding {other:?}"))),
    };
    let mode = match &f.permissions {
        None => 0o644,
        Some(Permissions(text)) => {
            u32::from_str_radix(text.trim(), 8).map_err(|_| bad("permissions are not octal"))?
        }
    };
    if mode > 0o7777 {
        return Err(bad("permissions out of range"));
    }
    let owner = f
        .owner
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .unwrap_or("root:root")
        .to_owned();
    Ok(WriteFile {
        path: f.path,
        contents: Sensitive::new(contents),
        mode,
        owner,
        append: f.append,
    })
}
