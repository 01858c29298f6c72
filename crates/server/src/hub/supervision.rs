//! A supervisor's view of the agents (`subscribe_agents`): each subscriber
//! follows the agents of its account it may assign to. A state change
//! reaches it as `agent_status` (see `Delivery::agent_status`, checked per
//! subscriber at delivery); an access change that moves agents into or
//! out of its reach is told here, as `agent_status` or `agent_removed`.

use std::collections::HashSet;
use std::sync::Arc;

use switchboard_core::{AccountId, UserId};
use switchboard_proto::ServerFrame;

use super::Hub;
use super::conn::{AgentNews, Conn};
use super::frames::{agent_removed_frame, encode};
use crate::access::AccessNow;
use crate::mapping;

impl Hub {
    /// `conn` follows its account's agents from now on, anew: the caller
    /// lists them after this, so a change made meanwhile still arrives.
    pub async fn subscribe_agents(&self, conn: &Arc<Conn>) {
        if self.connections.subscribe_agents(conn) {
            self.follow_account(conn).await;
        }
    }

    /// `conn` no longer follows agents.
    pub fn unsubscribe_agents(&self, conn: &Arc<Conn>) {
        self.connections.unsubscribe_agents(conn);
    }

    /// The account's access changed: each agent subscriber here is told of
    /// the agents that left its reach and of those that entered it.
    pub(super) async fn enforce_agent_lists(&self, account: AccountId, access: &AccessNow) {
        let mut subscribers = Vec::new();
        self.connections
            .agent_subscribers(account, |conn| subscribers.push(conn.clone()));
        if subscribers.is_empty() {
            return;
        }
        let agents = match self.store.agents(account).await {
            Ok(agents) => agents,
            Err(error) => {
                tracing::warn!(%error, %account, "could not read the agents for their supervisors");
                return;
            }
        };
        let listed: HashSet<UserId> = agents.iter().map(|a| a.user.id).collect();
        for conn in subscribers {
            let before: HashSet<UserId> = conn.agents_shown().into_iter().collect();
            for gone in before.difference(&listed) {
                // no agent any more (removed, or answering nowhere)
                if conn.agent_news(*gone, false) == AgentNews::Remove {
                    self.delivery.to(&conn, &agent_removed_frame(*gone));
                }
            }
            for state in &agents {
                let agent = state.user.id;
                let reachable = access.may_assign_to(conn.user().id, agent);
                match (conn.agent_news(agent, reachable), before.contains(&agent)) {
                    (AgentNews::Show, false) => {
                        let frame = encode(&ServerFrame::AgentStatus(mapping::agent(state)));
                        self.delivery.to(&conn, &frame);
                    }
                    (AgentNews::Remove, _) => {
                        self.delivery.to(&conn, &agent_removed_frame(agent));
                    }
                    _ => {}
                }
            }
        }
    }
}
