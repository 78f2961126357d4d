//! The stored session: server address, tokens and who signed in, kept in a
//! JSON file readable only by its owner.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};

use super::ClientArgs;

/// Server used when neither `--server`/`XIESHANG_SERVER` nor a stored session names one.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:50051";

/// What `xieshang login` stores.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Address of the server that issued the tokens.
    pub server: String,
    pub access_token: String,
    pub refresh_token: String,
    pub username: String,
    /// Division code of the user's committee; empty for platform operators.
    #[serde(default)]
    pub committee_code: String,
    #[serde(default)]
    pub user_id: String,
    #[serde(default)]
    pub display_name: String,
}

/// The session file named by `--session-file`/`XIESHANG_SESSION_FILE`, else
/// `<config dir>/xieshang/session.json`.
pub fn session_path(args: &ClientArgs) -> Result<PathBuf> {
    if let Some(path) = &args.session_file {
        return Ok(path.clone());
    }
    let dir = dirs::config_dir().ok_or_else(|| {
        anyhow!("cannot find a configuration directory for the session file; pass --session-file or set XIESHANG_SESSION_FILE")
    })?;
    Ok(dir.join("xieshang").join("session.json"))
}

/// Reads the session, `None` when there is no file.
pub fn load(path: &Path) -> Result<Option<Session>> {
    match fs::read(path) {
        Ok(bytes) => {
            let session = serde_json::from_slice(&bytes).with_context(|| {
                format!("the session file {} is damaged; run `xieshang login` again", path.display())
            })?;
            Ok(Some(session))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read the session file {}", path.display())),
    }
}

/// Reads the session, failing with a hint to sign in when there is none.
pub fn require(path: &Path) -> Result<Session> {
    load(path)?.ok_or_else(|| anyhow!("not signed in; run `xieshang login` first"))
}

/// Writes the session atomically (temporary file, then rename), readable and
/// writable by the owner only on unix.
pub fn save(path: &Path, session: &Session) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("cannot create the directory {}", dir.display()))?;
    }
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot remove {}", tmp.display())),
    }
    let json = serde_json::to_vec_pretty(session)?;
    let write = || -> std::io::Result<()> {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(&json)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    };
    write().with_context(|| format!("cannot write the session file {}", path.display()))
}

/// Deletes the session file; `false` when there was none.
pub fn delete(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot delete the session file {}", path.display())),
    }
}

/// The server to talk to: `--server`/`XIESHANG_SERVER`, else the stored
/// session's, else [`DEFAULT_SERVER`]. A bare `host:port` gets `http://`.
pub fn resolve_server(flag: Option<&str>, session: Option<&Session>) -> String {
    let chosen = flag
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .or_else(|| session.map(|s| s.server.as_str()).filter(|s| !s.is_empty()))
        .unwrap_or(DEFAULT_SERVER);
    normalize_server(chosen)
}

/// Adds `http://` to an address without a scheme and drops a trailing slash.
pub fn normalize_server(address: &str) -> String {
    let address = address.trim().trim_end_matches('/');
    if address.contains("://") { address.to_owned() } else { format!("http://{address}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Session {
        Session {
            server: "http://127.0.0.1:50051".into(),
            access_token: "a".into(),
            refresh_token: "r".into(),
            username: "admin".into(),
            committee_code: "130528".into(),
            user_id: "u".into(),
            display_name: "王秀兰".into(),
        }
    }

    #[test]
    fn server_resolution_prefers_flag_then_session_then_default() {
        let s = sample();
        assert_eq!(resolve_server(Some("http://x:1"), Some(&s)), "http://x:1");
        assert_eq!(resolve_server(None, Some(&s)), "http://127.0.0.1:50051");
        assert_eq!(resolve_server(None, None), DEFAULT_SERVER);
        assert_eq!(resolve_server(Some("  "), None), DEFAULT_SERVER);
        assert_eq!(resolve_server(Some("localhost:9000/"), None), "http://localhost:9000");
        assert_eq!(normalize_server("https://a.example"), "https://a.example");
    }

    #[test]
    fn save_load_delete_round_trip() {
        let dir = std::env::temp_dir().join(format!("xieshang-session-test-{}", uuid::Uuid::new_v4()));
        let path = dir.join("nested").join("session.json");
        assert_eq!(load(&path).unwrap(), None);
        assert!(require(&path).is_err());
        save(&path, &sample()).unwrap();
        assert_eq!(load(&path).unwrap(), Some(sample()));
        let mut changed = sample();
        changed.access_token = "b".into();
        save(&path, &changed).unwrap();
        assert_eq!(require(&path).unwrap(), changed);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(delete(&path).unwrap());
        assert!(!delete(&path).unwrap());
        fs::remove_dir_all(&dir).unwrap();
    }
}
