//! The schema's migrations, embedded in the binary: every file of `migrations/` (SQLite) and
//! of `migrations/postgres/` (PostgreSQL), read in by
//! `include_str!` and handed to sqlx's `Migrator` through its public `MigrationSource`
//! trait, named and checksummed exactly as sqlx reads the folder. sqlx's `migrate!` macro
//! does the same at compile time, but its crate builds a second copy of sqlx and of SQLite's
//! C source for the compiler in every fresh build; a test holds this list to the folder.

use super::Engine;
use futures::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};
use std::borrow::Cow;

/// Each SQLite migration's file name and SQL, oldest first.
const FILES: &[(&str, &str)] = &[
    (
        "20261123000000_initial.sql",
        include_str!("../../../migrations/20261123000000_initial.sql"),
    ),
    (
        "20261123150000_read_seq.sql",
        include_str!("../../../migrations/20261123150000_read_seq.sql"),
    ),
    (
        "20261123200000_turn_index.sql",
        include_str!("../../../migrations/20261123200000_turn_index.sql"),
    ),
    (
        "20261203120000_projects.sql",
        include_str!("../../../migrations/20261203120000_projects.sql"),
    ),
    (
        "20261203140000_logins.sql",
        include_str!("../../../migrations/20261203140000_logins.sql"),
    ),
    (
        "20261203160000_search.sql",
        include_str!("../../../migrations/20261203160000_search.sql"),
    ),
    (
        "20261203190000_runner.sql",
        include_str!("../../../migrations/20261203190000_runner.sql"),
    ),
    (
        "20261203220000_spending.sql",
        include_str!("../../../migrations/20261203220000_spending.sql"),
    ),
    (
        "20261203230000_compare.sql",
        include_str!("../../../migrations/20261203230000_compare.sql"),
    ),
    (
        "20261204160000_api_tokens.sql",
        include_str!("../../../migrations/20261204160000_api_tokens.sql"),
    ),
    (
        "20261206000000_rev.sql",
        include_str!("../../../migrations/20261206000000_rev.sql"),
    ),
    (
        "20261207000000_machines.sql",
        include_str!("../../../migrations/20261207000000_machines.sql"),
    ),
    (
        "20261207010000_machine_presence.sql",
        include_str!("../../../migrations/20261207010000_machine_presence.sql"),
    ),
];

/// The PostgreSQL migrations, oldest first: the schema began there as the SQLite
/// migrations had left it.
const POSTGRES_FILES: &[(&str, &str)] = &[
    (
        "20261205000000_schema.sql",
        include_str!("../../../migrations/postgres/20261205000000_schema.sql"),
    ),
    (
        "20261206000000_cluster.sql",
        include_str!("../../../migrations/postgres/20261206000000_cluster.sql"),
    ),
    (
        "20261206020000_fold_accents.sql",
        include_str!("../../../migrations/postgres/20261206020000_fold_accents.sql"),
    ),
    (
        "20261207000000_machines.sql",
        include_str!("../../../migrations/postgres/20261207000000_machines.sql"),
    ),
    (
        "20261207010000_machine_presence.sql",
        include_str!("../../../migrations/postgres/20261207010000_machine_presence.sql"),
    ),
];

/// The engine's migrations, as sqlx runs them.
pub async fn migrator(engine: Engine) -> Result<Migrator, MigrateError> {
    Migrator::new(Embedded(files(engine))).await
}

fn files(engine: Engine) -> &'static [(&'static str, &'static str)] {
    match engine {
        Engine::Sqlite => FILES,
        Engine::Postgres => POSTGRES_FILES,
    }
}

#[derive(Debug)]
struct Embedded(&'static [(&'static str, &'static str)]);

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            self.0
                .iter()
                .map(|(name, sql)| migration(name, sql))
                .collect()
        })
    }
}

/// One file as sqlx's folder reader makes it: `<version>_<description>.sql`, underscores
/// of the description read as spaces, `-- no-transaction` at the top to run it outside a
/// transaction.
fn migration(name: &str, sql: &'static str) -> Result<Migration, BoxDynError> {
    let (version, rest) = name
        .split_once('_')
        .ok_or_else(|| format!("migration {name}: no `<version>_` prefix"))?;
    let version: i64 = version
        .parse()
        .map_err(|e| format!("migration {name}: version {version:?}: {e}"))?;
    let description = rest
        .strip_suffix(".sql")
        .ok_or_else(|| format!("migration {name}: not a .sql file"))?
        .replace('_', " ");
    Ok(Migration::new(
        version,
        Cow::Owned(description),
        MigrationType::Simple,
        Cow::Borrowed(sql),
        sql.starts_with("-- no-transaction"),
    ))
}

#[cfg(test)]
mod tests {
    use super::{files, migrator};
    use crate::server::db::Engine;
    use sqlx::migrate::Migrator;
    use std::path::Path;

    #[tokio::test]
    async fn the_embedded_lists_are_the_folders_as_sqlx_reads_them() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        for (engine, folder) in [
            (Engine::Sqlite, root.clone()),
            (Engine::Postgres, root.join("postgres")),
        ] {
            let mut names: Vec<String> = std::fs::read_dir(&folder)
                .expect("the migrations folder")
                .map(|entry| {
                    entry
                        .expect("an entry")
                        .file_name()
                        .to_string_lossy()
                        .into_owned()
                })
                .filter(|name| name.ends_with(".sql"))
                .collect();
            names.sort();
            let listed: Vec<&str> = files(engine).iter().map(|(name, _)| *name).collect();
            assert_eq!(
                names, listed,
                "every file of {folder:?} is listed, in order"
            );

            let read = Migrator::new(folder.as_path())
                .await
                .expect("sqlx reads the folder");
            let embedded = migrator(engine).await.expect("the embedded list");
            let key = |m: &Migrator| -> Vec<_> {
                m.iter()
                    .map(|m| {
                        (
                            m.version,
                            m.description.to_string(),
                            m.checksum.to_vec(),
                            m.no_tx,
                        )
                    })
                    .collect()
            };
            assert_eq!(key(&embedded), key(&read), "versions, names, checksums");
        }
    }
}
