//! Bounded reads of one file, and the name a file is reported under.

use std::io::Read;
use std::path::Path;

const MIB: u64 = 1024 * 1024;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("not a regular file ({0}); not read")]
    NotRegular(&'static str),
    #[error("larger than the {} limit (max_file_size_mb); not read", size_text(*.0))]
    TooLarge(u64),
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
}

pub(crate) fn size_text(bytes: u64) -> String {
    if bytes % MIB == 0 {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes}-byte")
    }
}

/// Reads a whole regular file of at most `limit` bytes. Devices, FIFOs and sockets are
/// refused before they are opened (a symbolic link is judged by its target), the file is
/// opened without blocking in case it was swapped for a FIFO meanwhile, and the read
/// stops one byte past the limit whatever the file's metadata claimed.
pub fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let meta = std::fs::metadata(path)?;
    regular(&meta)?;
    if meta.len() > limit {
        return Err(ReadError::TooLarge(limit));
    }
    let file = open_nonblocking(path)?;
    let meta = file.metadata()?;
    regular(&meta)?;
    read_limited(file, limit, meta.len())
}

/// Reads standard input, which may be a pipe, up to `limit` bytes; more is an error,
/// never a silent truncation.
pub fn read_stdin(limit: u64) -> Result<Vec<u8>, ReadError> {
    read_limited(std::io::stdin().lock(), limit, 0)
}

fn read_limited(input: impl Read, limit: u64, size_hint: u64) -> Result<Vec<u8>, ReadError> {
    // Sized from the metadata so a big file is not copied through doubling buffers.
    let mut buf = Vec::with_capacity(usize::try_from(size_hint.min(limit) + 1).unwrap_or(0));
    input.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(ReadError::TooLarge(limit));
    }
    Ok(buf)
}

fn regular(meta: &std::fs::Metadata) -> Result<(), ReadError> {
    let t = meta.file_type();
    if t.is_file() {
        return Ok(());
    }
    Err(ReadError::NotRegular(file_kind(&t)))
}

/// What a file that is not a regular file is, for messages.
pub fn file_kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

/// Opens for reading without blocking: opening a FIFO otherwise waits for a writer.
#[cfg(unix)]
pub fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
pub fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

/// A path as reports name it: without a leading `./`.
pub fn display(p: &Path) -> String {
    let s = p.to_string_lossy();
    s.strip_prefix("./").unwrap_or(&s).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stop_past_the_limit_whatever_the_size_hint() {
        let r = read_limited(std::io::repeat(b'a'), 1000, 0);
        assert!(matches!(r, Err(ReadError::TooLarge(1000))), "{r:?}");
        let r = read_limited(&b"abc"[..], 3, 3).unwrap();
        assert_eq!(r, b"abc");
        let r = read_limited(&b"abcd"[..], 3, 1);
        assert!(matches!(r, Err(ReadError::TooLarge(3))));
    }
}
