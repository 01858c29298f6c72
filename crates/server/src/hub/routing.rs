//! What a routing operation changed reaching everyone concerned: the cards
//! of the conversations it moved (to inbox subscribers, here and on the
//! other nodes) and the agents whose load or state changed (to themselves
//! and to the supervisors following them).

use switchboard_core::model::{AgentState, Routed};
use switchboard_core::ports::ClusterEvent;

use super::Hub;

impl Hub {
    /// Tells everyone concerned what a routing operation changed. The cards
    /// are rewritten as this node shows them (see `cards`).
    pub async fn routed(&self, routed: &mut Routed) {
        for card in &mut routed.conversations {
            *card = self.card_news(card.clone());
            self.card_changed(card.clone()).await;
            self.card_reassigned(card).await;
        }
        for state in &routed.agents {
            self.agent_changed(state);
            self.publish(|| ClusterEvent::Agent {
                state: state.clone(),
            })
            .await;
        }
    }

    /// Sends an agent their own state, on every connection of theirs here,
    /// and to the supervisors here who follow them.
    pub(super) fn agent_changed(&self, state: &AgentState) {
        self.delivery.agent(state, &self.connections);
        self.delivery.agent_status(state, &self.connections);
    }
}
