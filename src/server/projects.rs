//! Projects: the folders of the user's code that sessions run in. `Projects` owns the list
//! (stored rows plus each folder's git state) and decides which folders an agent may run in:
//! under `server.roots` (after symlinks and `..`), the Playground, or a session worktree
//! under the data dir, and never a folder that contains the data dir or the config file.

use super::db::projects::StoredProject;
use super::db::Db;
use super::git::Git;
use super::registry::ServiceError;
use crate::protocol::{Project, ProjectId, PLAYGROUND_NAME};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Longest project name, in characters.
const MAX_NAME_CHARS: usize = 80;
/// Most folders one completion answer lists.
const MAX_FOLDERS: usize = 50;

/// The folders agents may run in, resolved once at start.
#[derive(Debug, Clone)]
pub struct Places {
    /// The data dir, canonical.
    pub data_dir: PathBuf,
    /// The config file, canonical, when one was read.
    pub config_file: Option<PathBuf>,
    /// `server.roots`, canonical (roots that do not exist are left out).
    pub roots: Vec<PathBuf>,
}

impl Places {
    /// The Playground's folder.
    pub fn playground(&self) -> PathBuf {
        self.data_dir.join("playground")
    }

    /// Where session worktrees live.
    pub fn worktrees(&self) -> PathBuf {
        self.data_dir.join("worktrees")
    }

    /// Checks that `dir` may hold an agent: it exists, is a folder, lies under a root, the
    /// Playground or the worktrees folder, and contains neither the data dir nor the config
    /// file. Returns it canonical. Run at add, at create and before every agent start.
    pub fn check_workdir(&self, dir: &Path) -> Result<PathBuf, ServiceError> {
        let shown = dir.display();
        let canonical = dir.canonicalize().map_err(|e| {
            ServiceError::Invalid(match e.kind() {
                std::io::ErrorKind::NotFound => format!("{shown} does not exist"),
                _ => format!("{shown} cannot be read: {e}"),
            })
        })?;
        if !canonical.is_dir() {
            return Err(ServiceError::Invalid(format!("{shown} is not a folder")));
        }
        let internal =
            canonical.starts_with(self.playground()) || canonical.starts_with(self.worktrees());
        if !internal && !self.roots.iter().any(|root| canonical.starts_with(root)) {
            let listed: Vec<String> = self.roots.iter().map(|r| r.display().to_string()).collect();
            return Err(ServiceError::NotAllowed(format!(
                "{} is outside the allowed roots ({}); see server.roots in Leptos.toml",
                canonical.display(),
                listed.join(", ")
            )));
        }
        if self.data_dir.starts_with(&canonical) {
            return Err(ServiceError::NotAllowed(format!(
                "{} contains Switchboard's data dir ({}); pick a folder of your code",
                canonical.display(),
                self.data_dir.display()
            )));
        }
        if let Some(config) = self
            .config_file
            .as_ref()
            .filter(|c| c.starts_with(&canonical))
        {
            return Err(ServiceError::NotAllowed(format!(
                "{} contains Switchboard's config file ({}); pick a folder of your code",
                canonical.display(),
                config.display()
            )));
        }
        Ok(canonical)
    }
}

/// The project list: stored rows with each folder's git state, and the git program.
pub struct Projects {
    db: Db,
    git: Option<Arc<Git>>,
    /// Why there is no git, for the Doctor and the worktree toggle.
    git_missing: Option<String>,
    places: Places,
    list: Mutex<Vec<Project>>,
}

impl Projects {
    /// Finds git, makes the Playground on first start, gives sessions stored before projects
    /// a project made from their working directory, and reads every folder's git state.
    pub async fn load(db: Db, places: Places) -> Result<Projects, ServiceError> {
        let (git, git_missing) = match Git::detect().await {
            Ok(git) => (Some(Arc::new(git)), None),
            Err(e) => (None, Some(format!("git is not available: {e}"))),
        };
        let projects = Projects {
            db,
            git,
            git_missing,
            places,
            list: Mutex::new(Vec::new()),
        };
        projects.ensure_playground().await?;
        for cwd in projects.db.cwds_without_project().await? {
            let id = match projects.by_path(&cwd).await? {
                Some(id) => id,
                None => projects.store(&cwd, None, None).await?.id,
            };
            projects.db.attach_sessions(&cwd, id).await?;
        }
        projects.reload().await?;
        Ok(projects)
    }

    /// The git program, when there is one.
    pub fn git(&self) -> Option<&Arc<Git>> {
        self.git.as_ref()
    }

    /// Why git cannot be used, when it cannot.
    pub fn git_missing(&self) -> Option<&str> {
        self.git_missing.as_deref()
    }

    /// Where agents may run.
    pub fn places(&self) -> &Places {
        &self.places
    }

    /// Every project, oldest first.
    pub fn list(&self) -> Vec<Project> {
        self.lock().clone()
    }

    /// One project.
    pub fn get(&self, id: ProjectId) -> Result<Project, ServiceError> {
        self.lock()
            .iter()
            .find(|p| p.id == id)
            .cloned()
            .ok_or_else(|| ServiceError::Invalid(format!("unknown project {id}")))
    }

    /// The machine (its id) project `id` is on; `None`: this server's host (or no project).
    pub fn machine_of(&self, id: Option<ProjectId>) -> Option<String> {
        let id = id?;
        self.lock()
            .iter()
            .find(|p| p.id == id)
            .and_then(|p| p.machine.clone())
    }

    /// The folder an agent of a project on `machine` may run in: on this host, checked
    /// against the roots (`Places::check_workdir`); on another machine, as given (this
    /// host's roots say nothing about it, and its runner refuses a folder it lacks).
    pub fn check_folder(&self, machine: Option<&str>, dir: &Path) -> Result<PathBuf, ServiceError> {
        match machine {
            Some(_) => Ok(dir.to_path_buf()),
            None => self.places.check_workdir(dir),
        }
    }

    /// The Playground (sessions that name no project run there).
    pub fn playground(&self) -> Result<Project, ServiceError> {
        let path = self.places.playground().display().to_string();
        self.lock()
            .iter()
            .find(|p| p.path == path && p.machine.is_none())
            .cloned()
            .ok_or_else(|| ServiceError::Storage("the Playground project is missing".into()))
    }

    /// The project of folder `dir` (made if there is none), for a session that names a
    /// working directory instead of a project.
    pub async fn for_folder(&self, dir: &Path) -> Result<Project, ServiceError> {
        let canonical = self.places.check_workdir(dir)?;
        let path = canonical.display().to_string();
        let here = |p: &&Project| p.path == path && p.machine.is_none();
        if let Some(project) = self.lock().iter().find(here).cloned() {
            return Ok(project);
        }
        self.add(&path, None, None).await
    }

    /// Adds folder `path` as a project named `name` (default: the folder's name), on this
    /// host or, with `machine`, on that machine (whose folders this server cannot see: the
    /// path must be absolute, and the agent's start there says whether it exists).
    pub async fn add(
        &self,
        path: &str,
        name: Option<&str>,
        machine: Option<String>,
    ) -> Result<Project, ServiceError> {
        let typed = path.trim();
        if typed.is_empty() {
            return Err(ServiceError::Invalid("give the project's folder".into()));
        }
        let path = match &machine {
            None => self
                .places
                .check_workdir(&expand_home(typed))?
                .display()
                .to_string(),
            Some(_) if !typed.starts_with('/') || typed.split('/').any(|part| part == "..") => {
                return Err(ServiceError::Invalid(format!(
                    "{typed}: a folder on another machine is given as an absolute path, without `..`"
                )))
            }
            Some(_) => typed.trim_end_matches('/').to_owned(),
        };
        if let Some(existing) = self
            .lock()
            .iter()
            .find(|p| p.path == path && p.machine == machine)
        {
            return Err(ServiceError::Invalid(format!(
                "{path} is already the project {:?}",
                existing.name
            )));
        }
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        let stored = self.store(&path, name, machine).await?;
        self.reload().await?;
        self.get(stored.id)
    }

    /// Renames a project.
    pub async fn rename(&self, id: ProjectId, name: &str) -> Result<(), ServiceError> {
        let name = check_name(name)?;
        self.get(id)?;
        self.db.rename_project(id, &name).await?;
        self.reload().await
    }

    /// Forgets a project (its sessions must have been ended; no file is touched).
    pub async fn remove(&self, id: ProjectId) -> Result<(), ServiceError> {
        let project = self.get(id)?;
        if Path::new(&project.path) == self.places.playground() {
            return Err(ServiceError::NotAllowed(
                "the Playground cannot be removed".into(),
            ));
        }
        self.db.delete_project(id).await?;
        self.reload().await
    }

    /// Reads the stored rows and every folder's git state again (after a merge moved a
    /// branch, a project was added...).
    pub async fn reload(&self) -> Result<(), ServiceError> {
        let mut fresh = Vec::new();
        for stored in self.db.projects().await? {
            fresh.push(self.describe(stored).await);
        }
        *self.lock() = fresh;
        Ok(())
    }

    /// Folders whose path starts with `prefix` that may become projects (or lead to
    /// one): under a root, or an ancestor of one, so the user can walk down to them.
    pub fn folders(&self, prefix: &str) -> Vec<String> {
        let prefix = expand_home(prefix.trim());
        let text = prefix.display().to_string();
        if text.is_empty() || !text.starts_with('/') {
            return self.places.roots.iter().map(|r| with_slash(r)).collect();
        }
        let (parent, partial) = match text.rfind('/') {
            Some(at) => (&text[..=at], &text[at + 1..]),
            None => ("/", text.as_str()),
        };
        let Ok(entries) = std::fs::read_dir(parent) else {
            return Vec::new();
        };
        let mut found: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                name.starts_with(partial) && (partial.starts_with('.') || !name.starts_with('.'))
            })
            .map(|entry| entry.path())
            .filter(|path| path.is_dir() && self.leads_to_root(path))
            .map(|path| with_slash(&path))
            .collect();
        found.sort();
        found.truncate(MAX_FOLDERS);
        found
    }

    fn leads_to_root(&self, path: &Path) -> bool {
        let Ok(canonical) = path.canonicalize() else {
            return false;
        };
        // The data dir itself can never be added; its ancestors may lead elsewhere.
        canonical != self.places.data_dir
            && self
                .places
                .roots
                .iter()
                .any(|root| canonical.starts_with(root) || root.starts_with(&canonical))
    }

    async fn ensure_playground(&self) -> Result<(), ServiceError> {
        let dir = self.places.playground();
        std::fs::create_dir_all(&dir).map_err(|e| {
            ServiceError::Storage(format!("cannot make the Playground {}: {e}", dir.display()))
        })?;
        if let Some(git) = &self.git {
            if let Err(e) = git.init_repo(&dir).await {
                tracing::warn!(error = %e, "the Playground is not a git repository");
            }
        }
        let path = dir.display().to_string();
        if self.by_path(&path).await?.is_none() {
            self.store(&path, Some(PLAYGROUND_NAME), None).await?;
        }
        Ok(())
    }

    async fn by_path(&self, path: &str) -> Result<Option<ProjectId>, ServiceError> {
        let stored = self.db.projects().await?;
        Ok(stored
            .into_iter()
            .find(|p| p.path == path && p.machine.is_none())
            .map(|p| p.id))
    }

    async fn store(
        &self,
        path: &str,
        name: Option<&str>,
        machine: Option<String>,
    ) -> Result<StoredProject, ServiceError> {
        let default_name = Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.to_owned());
        let stored = StoredProject {
            id: ProjectId(uuid::Uuid::new_v4()),
            name: check_name(name.unwrap_or(&default_name))?,
            path: path.to_owned(),
            machine,
            created_at_ms: crate::server::session_task::now_ms(),
        };
        self.db.insert_project(&stored).await?;
        Ok(stored)
    }

    async fn describe(&self, stored: StoredProject) -> Project {
        let mut project = Project {
            id: stored.id,
            name: stored.name,
            path: stored.path,
            is_git: false,
            head_branch: None,
            branches: Vec::new(),
            worktree_unavailable: None,
            machine: stored.machine,
            machine_name: None,
        };
        if project.machine.is_some() {
            // git runs on the server's host, which cannot see another machine's folders.
            project.worktree_unavailable = Some("the folder is on another machine".into());
            return project;
        }
        let Some(git) = &self.git else {
            project.worktree_unavailable = self.git_missing.clone();
            return project;
        };
        let state = match git.project_state(Path::new(&project.path)).await {
            Ok(state) => state,
            Err(e) => {
                project.worktree_unavailable = Some(format!("git cannot read the folder: {e}"));
                return project;
            }
        };
        project.is_git = state.is_git;
        project.head_branch = state.head_branch;
        project.branches = state.branches;
        project.worktree_unavailable = if !state.is_git {
            Some("not a git repository (worktrees need one)".into())
        } else if !state.has_commits {
            Some("the repository has no commit yet to branch from".into())
        } else {
            None
        };
        project
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Project>> {
        // Critical sections copy a list; a poisoned lock still holds a valid one.
        self.list
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The Doctor's line on git.
pub fn git_info(projects: &Projects) -> crate::protocol::GitInfo {
    crate::protocol::GitInfo {
        path: projects.git().map(|g| g.path().display().to_string()),
        version: projects.git().map(|g| g.version().to_owned()),
        problem: projects.git_missing().map(str::to_owned),
    }
}

/// A name within limits, trimmed.
fn check_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ServiceError::Invalid("the project needs a name".into()));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ServiceError::Invalid(format!(
            "the name is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(name.to_owned())
}

/// `~` and `~/...` name the home folder, as in a shell.
fn expand_home(path: &str) -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    match (path.strip_prefix('~'), home) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            home.join(rest.trim_start_matches('/'))
        }
        _ => PathBuf::from(path),
    }
}

fn with_slash(path: &Path) -> String {
    let text = path.display().to_string();
    if text.ends_with('/') {
        text
    } else {
        format!("{text}/")
    }
}
