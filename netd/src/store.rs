//! netd's state in one redb file.
//!
//! Each change (a network with its IPAM pool, an endpoint with its
//! addresses, a sandbox) is one write transaction, committed before the API
//! call that made it answers. Records are JSON, readable with any redb tool.
//! redb locks the file, so a second netd on the same data root cannot open it.

use std::path::Path;

use ipam::PoolState;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::model::{Endpoint, Network, PluginPool, Sandbox};

const NETWORKS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("networks");
const ENDPOINTS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("endpoints");
const SANDBOXES: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("sandboxes");
const POOLS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("ipam_pools");
const PLUGIN_POOLS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("plugin_pools");

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    /// Another process (a second netd) holds the file.
    #[error(
        "the state file {path} is in use by another netd (is one already running on this data root?)"
    )]
    Locked {
        /// The file.
        path: String,
    },
    /// redb failed.
    #[error("state store: {0}")]
    Db(#[from] redb::Error),
    /// A record did not encode or decode.
    #[error("state store record {key}: {source}")]
    Record {
        /// The record's key.
        key: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

fn db_err<E: Into<redb::Error>>(e: E) -> StoreError {
    StoreError::Db(e.into())
}

/// Everything stored, as loaded at start.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    /// Networks.
    pub networks: Vec<Network>,
    /// Endpoints.
    pub endpoints: Vec<Endpoint>,
    /// Sandboxes.
    pub sandboxes: Vec<Sandbox>,
    /// IPAM pools.
    pub pools: Vec<PoolState>,
    /// Pools handed out through the plugin socket.
    pub plugin_pools: Vec<PluginPool>,
}

/// One change: records to write and keys to delete, committed together.
#[derive(Debug, Default)]
pub(crate) struct Change {
    put: Vec<(Table, String, Vec<u8>)>,
    del: Vec<(Table, String)>,
}

#[derive(Debug, Clone, Copy)]
enum Table {
    Networks,
    Endpoints,
    Sandboxes,
    Pools,
    PluginPools,
}

impl Table {
    fn def(self) -> TableDefinition<'static, &'static str, &'static [u8]> {
        match self {
            Self::Networks => NETWORKS,
            Self::Endpoints => ENDPOINTS,
            Self::Sandboxes => SANDBOXES,
            Self::Pools => POOLS,
            Self::PluginPools => PLUGIN_POOLS,
        }
    }
}

impl Change {
    fn put<T: Serialize>(&mut self, table: Table, key: &str, value: &T) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(value).map_err(|source| StoreError::Record {
            key: key.to_owned(),
            source,
        })?;
        self.put.push((table, key.to_owned(), bytes));
        Ok(())
    }

    /// Writes a network.
    pub(crate) fn put_network(&mut self, n: &Network) -> Result<(), StoreError> {
        self.put(Table::Networks, &n.id, n)
    }
    /// Deletes a network.
    pub(crate) fn del_network(&mut self, id: &str) {
        self.del.push((Table::Networks, id.to_owned()));
    }
    /// Writes an endpoint.
    pub(crate) fn put_endpoint(&mut self, e: &Endpoint) -> Result<(), StoreError> {
        self.put(Table::Endpoints, &e.id, e)
    }
    /// Deletes an endpoint.
    pub(crate) fn del_endpoint(&mut self, id: &str) {
        self.del.push((Table::Endpoints, id.to_owned()));
    }
    /// Writes a sandbox.
    pub(crate) fn put_sandbox(&mut self, s: &Sandbox) -> Result<(), StoreError> {
        self.put(Table::Sandboxes, &s.id, s)
    }
    /// Deletes a sandbox.
    pub(crate) fn del_sandbox(&mut self, id: &str) {
        self.del.push((Table::Sandboxes, id.to_owned()));
    }
    /// Writes a plugin pool's record, or deletes it when `pool` is `None`.
    pub(crate) fn plugin_pool(
        &mut self,
        id: &str,
        pool: Option<&PluginPool>,
    ) -> Result<(), StoreError> {
        match pool {
            Some(p) => self.put(Table::PluginPools, id, p),
            None => {
                self.del.push((Table::PluginPools, id.to_owned()));
                Ok(())
            }
        }
    }
    /// Writes an IPAM pool, or deletes it when `state` is `None` (released).
    pub(crate) fn pool(&mut self, id: &str, state: Option<&PoolState>) -> Result<(), StoreError> {
        match state {
            Some(s) => self.put(Table::Pools, id, s),
            None => {
                self.del.push((Table::Pools, id.to_owned()));
                Ok(())
            }
        }
    }
}

/// The open state file.
#[derive(Debug)]
pub(crate) struct Store {
    db: Database,
}

impl Store {
    /// Opens (or creates) the state file at `path`.
    pub(crate) fn open(path: &Path) -> Result<Self, StoreError> {
        let database = Database::create(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked {
                path: path.display().to_string(),
            },
            other => db_err(other),
        })?;
        let tx = database.begin_write().map_err(db_err)?;
        for t in [NETWORKS, ENDPOINTS, SANDBOXES, POOLS, PLUGIN_POOLS] {
            tx.open_table(t).map_err(db_err)?;
        }
        tx.commit().map_err(db_err)?;
        Ok(Self { db: database })
    }

    /// Reads everything.
    pub(crate) fn load(&self) -> Result<Loaded, StoreError> {
        let tx = self.db.begin_read().map_err(db_err)?;
        fn all<T: DeserializeOwned>(
            tx: &redb::ReadTransaction,
            def: TableDefinition<'_, &str, &[u8]>,
        ) -> Result<Vec<T>, StoreError> {
            let table = tx.open_table(def).map_err(db_err)?;
            let mut out = Vec::new();
            for row in table.iter().map_err(db_err)? {
                let (k, v) = row.map_err(db_err)?;
                out.push(serde_json::from_slice(v.value()).map_err(|source| {
                    StoreError::Record {
                        key: k.value().to_owned(),
                        source,
                    }
                })?);
            }
            Ok(out)
        }
        Ok(Loaded {
            networks: all(&tx, NETWORKS)?,
            endpoints: all(&tx, ENDPOINTS)?,
            sandboxes: all(&tx, SANDBOXES)?,
            pools: all(&tx, POOLS)?,
            plugin_pools: all(&tx, PLUGIN_POOLS)?,
        })
    }

    /// Commits a change in one transaction.
    pub(crate) fn commit(&self, change: Change) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(db_err)?;
        for (table, key) in &change.del {
            tx.open_table(table.def())
                .map_err(db_err)?
                .remove(key.as_str())
                .map_err(db_err)?;
        }
        for (table, key, value) in &change.put {
            tx.open_table(table.def())
                .map_err(db_err)?
                .insert(key.as_str(), value.as_slice())
                .map_err(db_err)?;
        }
        tx.commit().map_err(db_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DriverKind;

    fn network(id: &str) -> Network {
        Network {
            id: id.into(),
            name: format!("n-{id}"),
            driver: DriverKind::Bridge,
            created: "2026-01-01T00:00:00Z".into(),
            internal: false,
            attachable: false,
            enable_ipv4: true,
            enable_ipv6: false,
            ipam_driver: "default".into(),
            ipam_options: Default::default(),
            subnets: vec![],
            options: Default::default(),
            labels: Default::default(),
            bridge: None,
            predefined: false,
            plugin: false,
        }
    }

    #[test]
    fn change_commits_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("netd.db");
        let store = Store::open(&path).unwrap();
        let mut c = Change::default();
        c.put_network(&network("a")).unwrap();
        c.put_network(&network("b")).unwrap();
        store.commit(c).unwrap();
        let mut c = Change::default();
        c.del_network("a");
        store.commit(c).unwrap();
        drop(store);
        let store = Store::open(&path).unwrap();
        let loaded = store.load().unwrap();
        assert_eq!(loaded.networks, vec![network("b")]);
    }

    #[test]
    fn second_open_of_the_same_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("netd.db");
        let _first = Store::open(&path).unwrap();
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
        assert!(err.to_string().contains("in use by another netd"));
    }
}
