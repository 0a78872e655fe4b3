//! Pure parsers of git's machine-readable (`-z`, porcelain) outputs: status, numstat,
//! name-status, the worktree list and merge-tree. They never fail: a record they do not
//! understand is skipped (git adds fields at the end of records, never in the middle).

/// One record of `git status --porcelain=v2 -z`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    /// Which kind of record it is.
    pub kind: StatusKind,
    /// The index's status letter (`X`: `.` unchanged, `M`, `A`, `D`, `R`, `U`...);
    /// `?` for untracked and `!` for ignored files.
    pub index: char,
    /// The working tree's status letter (`Y`), as `index`.
    pub worktree: char,
    /// The path, relative to the repository's top.
    pub path: String,
    /// For a rename or copy: where it came from.
    pub orig_path: Option<String>,
}

/// The kind of a porcelain v2 status record (its first letter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    /// `1`: changed in the index or the working tree.
    Ordinary,
    /// `2`: renamed or copied (in the index).
    Renamed,
    /// `u`: unmerged (a conflict).
    Unmerged,
    /// `?`: not tracked.
    Untracked,
    /// `!`: ignored (only with `--ignored`).
    Ignored,
}

/// One record of `git diff --numstat -z`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumstatEntry {
    /// Lines added (`None`: binary, git prints `-`).
    pub added: Option<u32>,
    /// Lines removed (`None`: binary).
    pub removed: Option<u32>,
    /// The path (the new one for a rename).
    pub path: String,
    /// For a rename: the old path.
    pub old_path: Option<String>,
}

/// One record of `git diff --name-status -z`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameStatusEntry {
    /// The status letter: `A`, `C`, `D`, `M`, `R`, `T`, `U` or `X`.
    pub status: char,
    /// The similarity of a rename or copy (`R088` gives 88).
    pub score: Option<u8>,
    /// The path (the new one for a rename or copy).
    pub path: String,
    /// For a rename or copy: the old path.
    pub old_path: Option<String>,
}

/// One worktree of `git worktree list --porcelain -z`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorktreeEntry {
    /// Its folder.
    pub path: String,
    /// The commit it has checked out (`None` for a bare repository).
    pub head: Option<String>,
    /// The branch it is on, without `refs/heads/`.
    pub branch: Option<String>,
    /// Whether its HEAD is detached.
    pub detached: bool,
    /// Whether it is a bare repository.
    pub bare: bool,
    /// Why it is locked (`Some("")`: locked with no reason).
    pub locked: Option<String>,
    /// Why git would prune it (its folder is gone, say).
    pub prunable: Option<String>,
}

/// What `git merge-tree --write-tree --name-only -z` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeTree {
    /// The merged tree (with conflict markers in the conflicted files).
    pub tree: String,
    /// The conflicted files, each once (empty: a clean merge).
    pub conflicted: Vec<String>,
}

/// Splits `-z` output into its fields (the final NUL ends the last field, it does not
/// start an empty one).
fn fields(raw: &[u8]) -> Vec<String> {
    let raw = raw.strip_suffix(b"\0").unwrap_or(raw);
    if raw.is_empty() {
        return Vec::new();
    }
    // Paths that are not UTF-8 are shown with replacement characters: the protocol's
    // paths are strings.
    raw.split(|&b| b == 0)
        .map(|field| String::from_utf8_lossy(field).into_owned())
        .collect()
}

/// The two status letters of an `XY` field.
fn xy(field: &str) -> Option<(char, char)> {
    let mut chars = field.chars();
    match (chars.next(), chars.next(), chars.next()) {
        (Some(x), Some(y), None) => Some((x, y)),
        _ => None,
    }
}

/// Parses `git status --porcelain=v2 -z` (with or without `--untracked-files`,
/// `--ignored`); `#` header lines (`--branch`) are skipped.
pub fn parse_status_v2(raw: &[u8]) -> Vec<StatusEntry> {
    let mut out = Vec::new();
    let mut records = fields(raw).into_iter();
    while let Some(record) = records.next() {
        // Each kind has a fixed number of space-separated fields before the path, which
        // may itself hold spaces.
        let (kind, before_path) = match record.as_bytes().first() {
            Some(b'1') => (StatusKind::Ordinary, 8),
            Some(b'2') => (StatusKind::Renamed, 9),
            Some(b'u') => (StatusKind::Unmerged, 10),
            Some(b'?') => (StatusKind::Untracked, 1),
            Some(b'!') => (StatusKind::Ignored, 1),
            _ => continue,
        };
        let parts: Vec<&str> = record.splitn(before_path + 1, ' ').collect();
        let Some(path) = parts.get(before_path).map(|p| (*p).to_owned()) else {
            continue;
        };
        let (index, worktree) = match kind {
            StatusKind::Untracked => ('?', '?'),
            StatusKind::Ignored => ('!', '!'),
            _ => match parts.get(1).and_then(|f| xy(f)) {
                Some(letters) => letters,
                None => continue,
            },
        };
        // A rename's original path is the next NUL-separated field.
        let orig_path = match kind {
            StatusKind::Renamed => records.next(),
            _ => None,
        };
        out.push(StatusEntry {
            kind,
            index,
            worktree,
            path,
            orig_path,
        });
    }
    out
}

/// A numstat count: `-` (binary) gives `None`.
fn count(field: &str) -> Option<u32> {
    field.parse().ok()
}

/// Parses `git diff --numstat -z`: `added\tremoved\tpath\0`, or for a rename
/// `added\tremoved\t\0old\0new\0`.
pub fn parse_numstat(raw: &[u8]) -> Vec<NumstatEntry> {
    let mut out = Vec::new();
    let mut records = fields(raw).into_iter();
    while let Some(record) = records.next() {
        let mut parts = record.splitn(3, '\t');
        let (Some(added), Some(removed), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (path, old_path) = if path.is_empty() {
            let (Some(old), Some(new)) = (records.next(), records.next()) else {
                break;
            };
            (new, Some(old))
        } else {
            (path.to_owned(), None)
        };
        out.push(NumstatEntry {
            added: count(added),
            removed: count(removed),
            path,
            old_path,
        });
    }
    out
}

/// Parses `git diff --name-status -z`: `M\0path\0`, or for a rename or copy
/// `R088\0old\0new\0`.
pub fn parse_name_status(raw: &[u8]) -> Vec<NameStatusEntry> {
    let mut out = Vec::new();
    let mut records = fields(raw).into_iter();
    while let Some(record) = records.next() {
        let mut chars = record.chars();
        let Some(status) = chars.next() else {
            continue;
        };
        let score = chars.as_str().parse().ok();
        let two_paths = matches!(status, 'R' | 'C');
        let Some(first) = records.next() else {
            break;
        };
        let (path, old_path) = if two_paths {
            let Some(new) = records.next() else {
                break;
            };
            (new, Some(first))
        } else {
            (first, None)
        };
        out.push(NameStatusEntry {
            status,
            score,
            path,
            old_path,
        });
    }
    out
}

/// Parses `git worktree list --porcelain -z`: one `key value` attribute per field, an
/// empty field after each worktree.
pub fn parse_worktree_list(raw: &[u8]) -> Vec<WorktreeEntry> {
    let mut out = Vec::new();
    let mut current: Option<WorktreeEntry> = None;
    for field in fields(raw) {
        if field.is_empty() {
            out.extend(current.take());
            continue;
        }
        let (key, value) = match field.split_once(' ') {
            Some((key, value)) => (key, Some(value)),
            None => (field.as_str(), None),
        };
        if key == "worktree" {
            out.extend(current.take());
            current = Some(WorktreeEntry {
                path: value.unwrap_or_default().to_owned(),
                ..WorktreeEntry::default()
            });
            continue;
        }
        let Some(entry) = current.as_mut() else {
            continue;
        };
        match key {
            "HEAD" => entry.head = value.map(str::to_owned),
            "branch" => {
                entry.branch = value.map(|v| v.strip_prefix("refs/heads/").unwrap_or(v).to_owned())
            }
            "detached" => entry.detached = true,
            "bare" => entry.bare = true,
            "locked" => entry.locked = Some(value.unwrap_or_default().to_owned()),
            "prunable" => entry.prunable = Some(value.unwrap_or_default().to_owned()),
            _ => {}
        }
    }
    out.extend(current);
    out
}

/// Parses `git merge-tree --write-tree --name-only -z`: the tree, then (on a conflict)
/// the conflicted files, an empty field, and informational messages, which are ignored.
pub fn parse_merge_tree(raw: &[u8]) -> Option<MergeTree> {
    let mut records = fields(raw).into_iter();
    let tree = records.next().filter(|t| !t.is_empty())?;
    let mut conflicted: Vec<String> = Vec::new();
    for name in records.take_while(|f| !f.is_empty()) {
        if !conflicted.contains(&name) {
            conflicted.push(name);
        }
    }
    Some(MergeTree { tree, conflicted })
}

/// Keeps only the hunks of a unified diff (`@@` lines and the lines they announce),
/// dropping every file header (`diff --git`, `index`, `---`/`+++`, mode lines). Hunk
/// lengths are followed, so a removed line that reads `-- x` is never taken for a header.
pub fn hunks_only(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len());
    let (mut old_left, mut new_left) = (0u64, 0u64);
    for line in diff.split_inclusive('\n') {
        if old_left > 0 || new_left > 0 {
            match line.as_bytes().first() {
                Some(b'+') => new_left = new_left.saturating_sub(1),
                Some(b'-') => old_left = old_left.saturating_sub(1),
                Some(b'\\') => {}
                _ => {
                    old_left = old_left.saturating_sub(1);
                    new_left = new_left.saturating_sub(1);
                }
            }
            out.push_str(line);
        } else if let Some((old, new)) = hunk_lengths(line) {
            (old_left, new_left) = (old, new);
            out.push_str(line);
        } else if line.starts_with('\\') && !out.is_empty() {
            // "\ No newline at end of file" after a hunk's last line.
            out.push_str(line);
        }
    }
    out
}

/// The old and new line counts of a hunk header `@@ -a[,b] +c[,d] @@`.
fn hunk_lengths(line: &str) -> Option<(u64, u64)> {
    let rest = line.strip_prefix("@@ -")?;
    let (ranges, _) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    let len = |range: &str| match range.split_once(',') {
        Some((_, n)) => n.parse().ok(),
        None => Some(1),
    };
    Some((len(old)?, len(new)?))
}

/// Whether a diff's file headers say a file is binary ("Binary files a/x and b/x differ").
pub fn says_binary(diff: &str) -> bool {
    diff.lines().any(|l| {
        (l.starts_with("Binary files ") && l.ends_with(" differ")) || l == "GIT binary patch"
    })
}

#[cfg(test)]
mod tests;
