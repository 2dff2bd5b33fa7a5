//! The exchange log's checkpoint signing key: one file holding the signer key
//! string `PRIVATE+KEY+<origin>+<key id>+<base64>` (the form Go's
//! `golang.org/x/mod/sumdb/note` reads), readable by its owner only. Whoever
//! holds it can sign checkpoints in the log's name, so a file that group or
//! others may read is refused rather than used.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use thiserror::Error;
use yrdx_signing::{NoteError, NoteSigner};

/// Why the log key cannot be used or made.
#[derive(Debug, Error)]
pub enum LogKeyError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Group or others may read or write the key.
    #[error(
        "{path}: the log key must be readable by its owner only (mode {mode:04o}); run `chmod 600 {path}`"
    )]
    Permissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Not a signer key string.
    #[error("{path}: not a log key (expected PRIVATE+KEY+…): {source}")]
    Parse {
        /// The key file.
        path: PathBuf,
        /// What was wrong.
        #[source]
        source: NoteError,
    },
    /// `generate` never overwrites a key: checkpoints signed with it would no
    /// longer verify.
    #[error("{path} exists; a log key is never overwritten")]
    Exists {
        /// The key file.
        path: PathBuf,
    },
    /// The origin cannot name a key.
    #[error("`{origin}` cannot name a key: {source}")]
    Origin {
        /// The origin.
        origin: String,
        /// Why.
        #[source]
        source: NoteError,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LogKeyError + '_ {
    move |source| LogKeyError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Reads the key at `path`, refusing a file group or others can access.
pub fn load(path: &Path) -> Result<NoteSigner, LogKeyError> {
    let file = std::fs::File::open(path).map_err(io(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = file.metadata().map_err(io(path))?.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(LogKeyError::Permissions {
                path: path.to_owned(),
                mode,
            });
        }
    }
    let mut text = String::new();
    // A key string is under 200 bytes; read a little more to notice junk.
    std::io::Read::read_to_string(&mut std::io::Read::take(file, 4096), &mut text)
        .map_err(io(path))?;
    NoteSigner::parse(text.trim()).map_err(|source| LogKeyError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// Makes a new key named `origin` and writes it to `path`, which must not
/// exist, with mode 0600.
pub fn generate(origin: &str, path: &Path) -> Result<NoteSigner, LogKeyError> {
    let signer =
        NoteSigner::generate(origin, &ring::rand::SystemRandom::new()).map_err(|source| {
            LogKeyError::Origin {
                origin: origin.to_owned(),
                source,
            }
        })?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            LogKeyError::Exists {
                path: path.to_owned(),
            }
        } else {
            LogKeyError::Io {
                path: path.to_owned(),
                source,
            }
        }
    })?;
    writeln!(file, "{}", signer.to_key_string()).map_err(io(path))?;
    file.sync_all().map_err(io(path))?;
    Ok(signer)
}

/// The key at `path`, made first if there is none (for `yrdx demo`).
pub fn load_or_generate(origin: &str, path: &Path) -> Result<NoteSigner, LogKeyError> {
    if path.exists() {
        load(path)
    } else {
        generate(origin, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_is_private_loads_and_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/log.key");
        let made = generate("yrdx.test/log", &path).unwrap();
        let loaded = load(&path).unwrap();
        assert_eq!(made.verifier_key(), loaded.verifier_key());
        assert_eq!(loaded.name(), "yrdx.test/log");
        assert!(matches!(
            generate("yrdx.test/log", &path),
            Err(LogKeyError::Exists { .. })
        ));
        assert_eq!(
            load_or_generate("yrdx.test/log", &path)
                .unwrap()
                .verifier_key(),
            made.verifier_key()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = load(&path).unwrap_err();
            assert!(matches!(err, LogKeyError::Permissions { mode: 0o644, .. }));
            assert!(err.to_string().contains("chmod 600"), "{err}");
        }
    }

    #[test]
    fn a_file_that_is_not_a_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.key");
        generate("yrdx.test/log", &path).unwrap();
        std::fs::write(&path, "not a key\n").unwrap();
        assert!(matches!(load(&path), Err(LogKeyError::Parse { .. })));
    }
}
