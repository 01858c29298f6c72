//! Routing's statements ([`RoutingTx`]) on SQLite, run by the writer
//! thread inside its transaction: the portable ones as `RoutingTx` writes
//! them. The writer runs one job at a time, which is the whole of the
//! per-account lock here, and a job's time is its clock.

use switchboard_core::StoreError;
use switchboard_core::ids::AccountId;

use super::tx::SqliteTx;
use crate::routing::RoutingTx;
use crate::statement::Statements;

impl RoutingTx for SqliteTx<'_> {
    async fn lock(&mut self, account: AccountId) -> Result<i64, StoreError> {
        // the writer runs one job at a time: checking the account is all
        self.one(
            "SELECT 1 FROM accounts WHERE id = $1",
            &[account.into()],
            |_| Ok(()),
        )
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(self.now())
    }

    async fn clock(&mut self) -> Result<i64, StoreError> {
        Ok(self.now())
    }
}
