//! Redaction of command output before it reaches a condition message or a log line.
//!
//! kubeadm prints join tokens and certificate keys; a failed `cat` may echo a PEM block. We
//! keep the last few lines for diagnosis and replace anything that looks secret.

use std::sync::LazyLock;

use regex::Regex;

/// PEM blocks (also one cut off at the end), kubeadm tokens, long base64 runs.
/// `None` only if a pattern failed to compile; then [`redact`] withholds everything rather
/// than leak (the unit tests make sure that never ships).
static PATTERNS: LazyLock<Option<[Regex; 3]>> = LazyLock::new(|| {
    Some([
        Regex::new(r"-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(-----END [A-Z0-9 ]+-----|\z)").ok()?,
        Regex::new(r"\b[a-z0-9]{6}\.[a-z0-9]{16}\b").ok()?,
        Regex::new(r"[A-Za-z0-9+/]{65,}={0,2}").ok()?,
    ])
});

// ANCHOR: redact
/// Replace PEM blocks, kubeadm bootstrap tokens and base64 runs longer than 64 characters.
pub fn redact(text: &str) -> String {
    let Some([pem, token, base64]) = PATTERNS.as_ref() else {
        return "[output withheld]".to_owned();
    };
    let text = pem.replace_all(text, "[REDACTED PEM]");
    let text = token.replace_all(&text, "[REDACTED TOKEN]");
    base64.replace_all(&text, "[REDACTED BASE64]").into_owned()
}

/// The last `n` lines of `output`, redacted. Redaction runs on the whole output first so a
/// PEM block cut by the tail window is still recognised.
pub fn redacted_tail(output: &[u8], n: usize) -> String {
    let text = redact(&String::from_utf8_lossy(output));
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
// ANCHOR_END: redact

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_compile() {
        assert!(PATTERNS.is_some());
    }

    #[test]
    fn tokens_pem_and_long_base64_are_replaced() {
        let out = "kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef\n\
                   -----BEGIN RSA PRIVATE KEY-----\nMIIEow\nxyz\n-----END RSA PRIVATE KEY-----\n\
                   key: QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODk=\n\
                   short: aGVsbG8=\n";
        let r = redact(out);
        assert!(!r.contains("abcdef.0123456789abcdef"));
        assert!(!r.contains("MIIEow"));
        assert!(!r.contains("QUJDREVG"));
        assert!(r.contains("aGVsbG8="), "short base64 is kept: {r}");
        insta::assert_snapshot!("redacted_output", r);
    }

    #[test]
    fn tail_keeps_the_last_lines_and_catches_cut_pem_blocks() {
        let out = b"one\n-----BEGIN CERTIFICATE-----\nAAAA\nBBBB\n-----END CERTIFICATE-----\nlast";
        assert_eq!(redacted_tail(out, 2), "[REDACTED PEM]\nlast");
        let unterminated = b"x\n-----BEGIN PRIVATE KEY-----\nsecretbody";
        assert_eq!(redacted_tail(unterminated, 5), "x\n[REDACTED PEM]");
    }
}
