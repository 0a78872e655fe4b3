//! Databases for tests on both engines: a data dir's SQLite file, and, when
//! `SWITCHBOARD_TEST_POSTGRES` names a PostgreSQL server (the throwaway cluster
//! `scripts/test-postgres.sh` starts for the suite), a database of its own there.

use super::{Db, DbError};
use sqlx::{Connection, Executor};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

/// The admin URL of the test cluster (`postgres://postgres@127.0.0.1:PORT/postgres`).
pub const TEST_POSTGRES_ENV: &str = "SWITCHBOARD_TEST_POSTGRES";

/// The URL of the test cluster's database for `key` (the same key, the same database:
/// a server restarted on one data dir finds its log), created when missing. `None`
/// without a test cluster.
pub async fn postgres_url(key: &str) -> Result<Option<String>, DbError> {
    let Ok(admin) = std::env::var(TEST_POSTGRES_ENV) else {
        return Ok(None);
    };
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    let name = format!("sb_{:016x}", hasher.finish());
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&admin).await?;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut conn)
        .await?;
    if exists.is_none() {
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await?;
    }
    conn.close().await?;
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    Ok(Some(format!("{base}/{name}")))
}

/// [`postgres_url`] for callers that cannot await it (a harness starting a server from
/// inside a runtime): made on a thread of its own. `None` without a test cluster; a
/// cluster that does not answer panics, as a test should.
pub fn postgres_url_blocking(key: &str) -> Option<String> {
    let key = key.to_owned();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(postgres_url(&key))
    })
    .join()
    .expect("the database is made")
    .expect("the test cluster answers")
}

/// The database of a server on `data_dir`: its PostgreSQL database on the test cluster
/// when there is one (see [`postgres_url`]), else its SQLite file.
pub async fn open_for(data_dir: &Path, on_postgres: bool) -> Db {
    let url = match on_postgres {
        true => postgres_url(&data_dir.display().to_string())
            .await
            .expect("the test cluster answers"),
        false => None,
    };
    match url {
        Some(url) => Db::connect_postgres(&url).await.expect("PostgreSQL opens"),
        None => Db::open(data_dir).await.expect("SQLite opens"),
    }
}

/// The databases a storage test runs on: SQLite in `dir`, then a new PostgreSQL database
/// when there is a test cluster. Each comes with the engine's name, for messages.
pub async fn engines(dir: &Path) -> Vec<(&'static str, Db)> {
    let mut dbs = vec![("sqlite", Db::open(dir).await.expect("SQLite opens"))];
    let key = format!("{}/{}", dir.display(), uuid::Uuid::new_v4());
    match postgres_url(&key).await.expect("the test cluster answers") {
        Some(url) => dbs.push((
            "postgres",
            Db::connect_postgres(&url)
                .await
                .expect("PostgreSQL migrates"),
        )),
        None => eprintln!("{TEST_POSTGRES_ENV} is not set: PostgreSQL not tested"),
    }
    dbs
}
