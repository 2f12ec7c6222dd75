//! Default images: the kindest/node mapping by Kubernetes version and the
//! HAProxy image, each overridable by the user.

// ANCHOR: node_images
/// kindest/node images pinned by digest, newest first. A digest pins the exact bytes: a tag
/// can be re-pushed, a digest cannot.
pub const KIND_NODE_IMAGES: &[(&str, &str)] = &[
    (
        "v1.36.1",
        "kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5",
    ),
    (
        "v1.35.5",
        "kindest/node:v1.35.5@sha256:ce977ae6d65918d0b58a5f8b5e940429c2ce42fa3a5619ec2bbc60b949c0ac95",
    ),
    (
        "v1.34.8",
        "kindest/node:v1.34.8@sha256:02722c2dedddcfc00febf5d27fbeb9b7b2c14294c82109ff4a85d89ac9ba3256",
    ),
    (
        "v1.33.12",
        "kindest/node:v1.33.12@sha256:3f5c8443c620245e4d355cfe09e96a91ead32ceaa569d3f1ca9edf0cb2fe2ff4",
    ),
];
// ANCHOR_END: node_images

// ANCHOR: haproxy_image
/// Default load-balancer image: the tag upstream uses, pinned by digest.
///
/// Upstream pins only the tag. The digest was not read from a registry by us (no registry
/// access when this was written): it is the digest `docker pull` reported for this tag in two
/// independent public sources (a pull log and an air-gap image list). Re-verify it when you
/// have registry access: `docker buildx imagetools inspect kindest/haproxy:v20230606-42a2262b`.
pub const DEFAULT_HAPROXY_IMAGE: &str = "kindest/haproxy:v20230606-42a2262b@sha256:001a06433666046dea44567c7d7c6adfc2ac0edb556576f6da507ff0b0f063d3";
// ANCHOR_END: haproxy_image

/// Why no node image could be chosen.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImageError {
    /// The Machine has neither a custom image nor a Kubernetes version.
    #[error("no custom image and no Kubernetes version: cannot choose a node image")]
    NoVersion,
}

/// The chosen node image and whether it is pinned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageChoice {
    /// Full image reference.
    pub image: String,
    /// False for a tag-only fallback: callers should warn.
    pub pinned: bool,
}

// ANCHOR: choose_node_image
/// The node image for a Machine: `custom` wins; else the pinned kindest/node for `version`;
/// else `kindest/node:<version>` (tag only, reported as unpinned).
pub fn node_image(custom: Option<&str>, version: Option<&str>) -> Result<ImageChoice, ImageError> {
    if let Some(custom) = custom.filter(|c| !c.trim().is_empty()) {
        return Ok(ImageChoice {
            image: custom.to_owned(),
            pinned: custom.contains("@sha256:"),
        });
    }
    let version = version
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(ImageError::NoVersion)?;
    let tag = oci_tag(version);
    if let Some((_, image)) = KIND_NODE_IMAGES.iter().find(|(v, _)| *v == tag) {
        return Ok(ImageChoice {
            image: (*image).to_owned(),
            pinned: true,
        });
    }
    Ok(ImageChoice {
        image: format!("kindest/node:{tag}"),
        pinned: false,
    })
}
// ANCHOR_END: choose_node_image

/// The load-balancer image: the user's override or [`DEFAULT_HAPROXY_IMAGE`].
pub fn haproxy_image(custom: Option<&str>) -> String {
    custom
        .filter(|c| !c.trim().is_empty())
        .unwrap_or(DEFAULT_HAPROXY_IMAGE)
        .to_owned()
}

/// A Kubernetes version as an OCI tag: leading `v`, and `+` (build metadata, not allowed in
/// tags) replaced by `_` as kind does.
fn oci_tag(version: &str) -> String {
    let v = version.replace('+', "_");
    if v.starts_with('v') {
        v
    } else {
        format!("v{v}")
    }
}

/// Every built-in default image that is not pinned by digest (the image-digest lint).
pub fn unpinned_defaults() -> Vec<&'static str> {
    KIND_NODE_IMAGES
        .iter()
        .map(|(_, image)| *image)
        .chain(std::iter::once(DEFAULT_HAPROXY_IMAGE))
        .filter(|image| !image.contains("@sha256:"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_versions_map_to_pinned_images() {
        let c = node_image(None, Some("v1.35.5")).unwrap();
        assert!(c.pinned);
        assert!(c.image.starts_with("kindest/node:v1.35.5@sha256:"));
        assert_eq!(
            node_image(None, Some("1.33.12")).unwrap().image,
            KIND_NODE_IMAGES[3].1
        );
    }

    #[test]
    fn unknown_versions_fall_back_to_an_unpinned_tag() {
        let c = node_image(None, Some("v1.32.0+k3s1")).unwrap();
        assert_eq!(c.image, "kindest/node:v1.32.0_k3s1");
        assert!(!c.pinned);
    }

    #[test]
    fn custom_image_wins_and_empty_version_is_an_error() {
        let c = node_image(Some("capdkc-test/node:dev"), Some("v1.35.5")).unwrap();
        assert_eq!(c.image, "capdkc-test/node:dev");
        assert!(!c.pinned);
        assert_eq!(node_image(Some(" "), None), Err(ImageError::NoVersion));
        assert_eq!(haproxy_image(Some("my/lb:1")), "my/lb:1");
        assert_eq!(haproxy_image(None), DEFAULT_HAPROXY_IMAGE);
    }

    /// Image-digest lint: every built-in default carries `@sha256:` (a tag can move, a digest cannot).
    #[test]
    fn default_images_are_pinned_by_digest() {
        let unpinned = unpinned_defaults();
        assert!(
            unpinned.is_empty(),
            "defaults without a digest: {unpinned:?}"
        );
        assert!(DEFAULT_HAPROXY_IMAGE.starts_with("kindest/haproxy:v20230606-42a2262b@sha256:"));
        for (version, image) in KIND_NODE_IMAGES {
            assert!(image.starts_with(&format!("kindest/node:{version}@sha256:")));
            let digest = image.rsplit(':').next().unwrap_or_default();
            assert_eq!(digest.len(), 64, "{image}");
        }
    }
}
