//! Seats (docs/PEOPLE.md, "Seats"): an account's plan caps its active
//! users plus its pending, unexpired invitations. Every write that takes a
//! seat holds the account's lock (`access::lock_account`) and counts the
//! seats in use in the same transaction, so no two writes can both take
//! the last one. Written once for both backends over [`Statements`].

use switchboard_core::StoreError;
use switchboard_core::ids::AccountId;
use switchboard_core::invitations::Seats;

use crate::access::lock_account;
use crate::rows::unsigned;
use crate::statement::{Statements, Value};

const SET_SEAT_LIMIT: &str = "UPDATE accounts SET seat_limit = $2 WHERE id = $1";

/// Takes `wanted` seats of the account, whose lock the caller holds:
/// `SeatLimit` when the plan has fewer left.
pub(crate) async fn take_seats<T: Statements>(
    tx: &mut T,
    account: AccountId,
    wanted: u32,
) -> Result<Seats, StoreError> {
    let seats = seats(tx, account).await?;
    match seats.admits(wanted) {
        true => Ok(seats),
        false => Err(StoreError::SeatLimit {
            limit: seats.limit.unwrap_or(u32::MAX),
            used: seats.used,
            wanted,
        }),
    }
}

pub(crate) async fn seats<T: Statements>(
    tx: &mut T,
    account: AccountId,
) -> Result<Seats, StoreError> {
    let params = [Value::Clock, account.into()];
    let row = tx
        .one(T::SQL.seats, &params, |row| {
            let limit = row.opt_int("seat_limit")?;
            let limit = limit.map(|n| unsigned(n, "seat limit")).transpose()?;
            Ok(Seats {
                limit: limit.map(saturate),
                used: saturate(unsigned(row.int("used")?, "seats used")?),
            })
        })
        .await?;
    row.ok_or(StoreError::NotFound)
}

/// Sets the plan's cap under the account's lock; `Conflict` below the
/// seats in use.
pub(crate) async fn set_seat_limit<T: Statements>(
    tx: &mut T,
    account: AccountId,
    limit: Option<u32>,
) -> Result<Seats, StoreError> {
    lock_account(tx, account).await?;
    let seats = seats(tx, account).await?;
    if let Some(limit) = limit.filter(|limit| *limit < seats.used) {
        return Err(StoreError::Conflict(format!(
            "{} seats are in use (active users and pending invitations): \
             the limit cannot be {limit}",
            seats.used
        )));
    }
    let params = [account.into(), limit.map(i64::from).into()];
    tx.execute(SET_SEAT_LIMIT, &params).await?;
    Ok(Seats {
        limit,
        used: seats.used,
    })
}

fn saturate(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}
