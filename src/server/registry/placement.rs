//! With several server nodes, the sessions of another machine's projects are driven by the
//! node that machine's runner is connected to (recorded in `machines.node_id` for a lease's
//! time, renewed by that node's sweep). A new such session is made there (`send` forwards
//! its creation); a node driving one whose runner went to another node gives its lease
//! up, and a node does not take over a lease for a machine whose runner is elsewhere. So
//! the leases follow the runners.

use super::cluster::Node;
use super::{Driver, Registry};
use crate::protocol::{ProjectId, SessionId};
use crate::server::db::DbError;
use crate::server::session_task::now_ms;
use std::collections::HashMap;
use std::sync::Arc;

impl Registry {
    /// The other node the runner of `project`'s machine is connected to, if it is not
    /// this one (and there are several nodes).
    pub(super) async fn machine_node_elsewhere(
        &self,
        project: Option<ProjectId>,
    ) -> Result<Option<String>, DbError> {
        let machine = self.context.projects.machine_of(project);
        let (Some(node), Some(machine)) = (self.node(), machine) else {
            return Ok(None);
        };
        let nodes = self.context.db.machine_nodes(now_ms()).await?;
        Ok(nodes
            .get(&machine)
            .filter(|holder| **holder != node.id)
            .cloned())
    }

    /// The sweep's part: records the machines whose runners are connected here, gives up
    /// the sessions driven here whose machine's runner is now on another node, and returns
    /// which node holds each machine (for the take-overs that follow).
    pub(super) async fn place_by_machine(
        self: &Arc<Self>,
        node: &Node,
    ) -> Result<HashMap<String, String>, DbError> {
        let Some(runners) = &self.context.runners else {
            return Ok(HashMap::new());
        };
        runners
            .machines()
            .hold(runners.machines().connected_here())
            .await;
        let nodes = self.context.db.machine_nodes(now_ms()).await?;
        if nodes.values().all(|holder| *holder == node.id) {
            // Every connected runner is here (or none is): nothing to hand over.
            return Ok(nodes);
        }
        let elsewhere: Vec<SessionId> = self
            .lock()
            .iter()
            .filter(|(_, handle)| matches!(handle.driver, Driver::Local { .. }))
            .filter(|(_, handle)| self.held_elsewhere(handle.stream.project(), node, &nodes))
            .map(|(id, _)| *id)
            .collect();
        for id in elsewhere {
            tracing::info!(session = %id, "its machine's runner is on another node; handing the session over");
            self.context.db.release_leases(&node.id, Some(id)).await?;
            self.give_up(id).await;
        }
        Ok(nodes)
    }

    /// True when `id`'s machine's runner is connected to a node other than `node`: that
    /// node takes the session over, not this one.
    pub(super) fn driven_elsewhere(
        &self,
        id: SessionId,
        node: &Node,
        machines: &HashMap<String, String>,
    ) -> bool {
        let project = self.lock().get(&id).and_then(|h| h.stream.project());
        self.held_elsewhere(project, node, machines)
    }

    /// True when `project`'s machine's runner is connected to a node other than `node`.
    fn held_elsewhere(
        &self,
        project: Option<ProjectId>,
        node: &Node,
        machines: &HashMap<String, String>,
    ) -> bool {
        self.context
            .projects
            .machine_of(project)
            .and_then(|m| machines.get(&m))
            .is_some_and(|holder| *holder != node.id)
    }
}
