//! Channels and API tokens.

use rusqlite::{Connection, Row, params};

use agusto_schemas::ChannelStockRule;

use super::codec::{from_json, is_unique_violation, micros, time, to_json};
use crate::{Channel, Error, Result, Role, TokenRecord};

const CHANNEL_COLUMNS: &str = "id, name, webhook_url, webhook_secret, allowed_ips, \
     rate_limit_per_second, webhook_disabled, created_at, updated_at, \
     stock_buffer, stock_buffer_percent, stock_floor";

fn channel(row: &Row<'_>) -> Result<Channel> {
    let allowed_ips: String = row.get(4)?;
    Ok(Channel {
        id: row.get(0)?,
        name: row.get(1)?,
        webhook_url: row.get(2)?,
        webhook_secret: row.get(3)?,
        allowed_ips: from_json(&allowed_ips, "channel allowed_ips")?,
        rate_limit_per_second: row.get(5)?,
        webhook_disabled: row.get(6)?,
        created_at: time(row.get(7)?)?,
        updated_at: time(row.get(8)?)?,
        stock_rule: ChannelStockRule {
            stock_buffer: row.get(9)?,
            stock_buffer_percent: row.get(10)?,
            stock_floor: row.get(11)?,
        },
    })
}

fn token(row: &Row<'_>) -> Result<TokenRecord> {
    let role: String = row.get(2)?;
    let role =
        Role::parse(&role).ok_or_else(|| Error::Corrupt(format!("unknown role {role:?}")))?;
    Ok(TokenRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        role,
        channel_id: row.get(3)?,
        token_hash: row.get(4)?,
        created_at: time(row.get(5)?)?,
    })
}

/// Stores a new channel; `Conflict` if its id is taken.
pub(crate) fn insert_channel(conn: &Connection, c: &Channel) -> Result<()> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO channels (id, name, webhook_url, webhook_secret, allowed_ips,
                 rate_limit_per_second, webhook_disabled, created_at, updated_at,
                 stock_buffer, stock_buffer_percent, stock_floor)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?
        .execute(params![
            c.id,
            c.name,
            c.webhook_url,
            c.webhook_secret,
            to_json(&c.allowed_ips)?,
            c.rate_limit_per_second,
            c.webhook_disabled,
            micros(&c.created_at),
            micros(&c.updated_at),
            c.stock_rule.stock_buffer,
            c.stock_rule.stock_buffer_percent,
            c.stock_rule.stock_floor
        ]);
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => {
            Err(Error::Conflict(format!("channel {} exists", c.id)))
        }
        Err(e) => Err(e.into()),
    }
}

/// Replaces a channel's fields; `Conflict` if there is no such channel.
pub(crate) fn update_channel(conn: &Connection, c: &Channel) -> Result<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE channels SET name = ?2, webhook_url = ?3, webhook_secret = ?4,
                 allowed_ips = ?5, rate_limit_per_second = ?6, webhook_disabled = ?7,
                 created_at = ?8, updated_at = ?9, stock_buffer = ?10,
                 stock_buffer_percent = ?11, stock_floor = ?12
             WHERE id = ?1",
        )?
        .execute(params![
            c.id,
            c.name,
            c.webhook_url,
            c.webhook_secret,
            to_json(&c.allowed_ips)?,
            c.rate_limit_per_second,
            c.webhook_disabled,
            micros(&c.created_at),
            micros(&c.updated_at),
            c.stock_rule.stock_buffer,
            c.stock_rule.stock_buffer_percent,
            c.stock_rule.stock_floor
        ])?;
    if changed == 0 {
        return Err(Error::Conflict(format!("no channel {}", c.id)));
    }
    Ok(())
}

/// One channel.
pub(crate) fn get_channel(conn: &Connection, id: &str) -> Result<Option<Channel>> {
    let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query_and_then([id], channel)?;
    rows.next().transpose()
}

/// Every channel, by id.
pub(crate) fn list_channels(conn: &Connection) -> Result<Vec<Channel>> {
    let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels ORDER BY id");
    conn.prepare_cached(&sql)?
        .query_and_then([], channel)?
        .collect()
}

/// Stores a token; `Conflict` if its id or hash is taken.
pub(crate) fn insert_token(conn: &Connection, t: &TokenRecord) -> Result<()> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO tokens (id, name, role, channel_id, token_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            t.id,
            t.name,
            t.role.as_str(),
            t.channel_id,
            t.token_hash,
            micros(&t.created_at)
        ]);
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(Error::Conflict(format!(
            "token {} or its hash exists",
            t.id
        ))),
        Err(e) => Err(e.into()),
    }
}

/// The unrevoked token with this hash.
pub(crate) fn token_by_hash(conn: &Connection, hash: &[u8]) -> Result<Option<TokenRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, role, channel_id, token_hash, created_at FROM tokens
         WHERE token_hash = ?1 AND revoked_at IS NULL",
    )?;
    let mut rows = stmt.query_and_then([hash], token)?;
    rows.next().transpose()
}

/// Revokes a token now; false if there is no such unrevoked token.
pub(crate) fn revoke_token(conn: &Connection, id: &str) -> Result<bool> {
    let now = micros(&chrono::Utc::now());
    let changed = conn
        .prepare_cached("UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL")?
        .execute(params![id, now])?;
    Ok(changed > 0)
}

/// True when some unrevoked admin token exists.
pub(crate) fn has_admin_token(conn: &Connection) -> Result<bool> {
    let admin = Role::Admin.as_str();
    Ok(conn
        .prepare_cached("SELECT 1 FROM tokens WHERE role = ?1 AND revoked_at IS NULL")?
        .exists([admin])?)
}
