//! Channels and API tokens.
//!
//! These are admin writes, rare and off the hot path, and they need
//! uniqueness that a plain upsert cannot give (a channel id or a token hash
//! taken by a concurrent request), so they use lightweight transactions:
//! `IF NOT EXISTS` to create, `IF created_at = <stored>` (the channel exists) /
//! `IF revoked = false` to change.
//! Rows written with LWT are only ever written with LWT. The role index of
//! live tokens is a plain table maintained after the LWT succeeded; readers
//! check each token it lists, so a row left behind by a crash in between
//! never counts a revoked token (a crash right after creating a token can
//! leave it unlisted: it works, but `has_admin_token` does not see it).

use scylla::DeserializeRow;

use super::Inner;
use agusto_schemas::ChannelStockRule;

use super::codec::{
    Values, at, big, blob, boolean, opt_big, opt_text, required, text, text_list, time,
};
use super::statements::Stmt;
use crate::{Channel, Error, Result, Role, TokenRecord};

/// A `channels` row.
#[derive(Debug, DeserializeRow)]
struct ChannelRow {
    id: String,
    name: Option<String>,
    webhook_url: Option<String>,
    webhook_secret: Option<String>,
    allowed_ips: Option<Vec<String>>,
    rate_limit_per_second: Option<i64>,
    webhook_disabled: Option<bool>,
    created_at: Option<i64>,
    updated_at: Option<i64>,
    stock_buffer: Option<i64>,
    stock_buffer_percent: Option<i64>,
    stock_floor: Option<i64>,
}

impl ChannelRow {
    fn into_channel(self) -> Result<Channel> {
        let rate = self
            .rate_limit_per_second
            .map(|r| u32::try_from(r).map_err(|_| Error::Corrupt(format!("rate limit {r}"))))
            .transpose()?;
        Ok(Channel {
            id: self.id,
            name: required(self.name, "channel name")?,
            webhook_url: self.webhook_url,
            webhook_secret: required(self.webhook_secret, "channel webhook_secret")?,
            // CQL stores an empty list as null.
            allowed_ips: self.allowed_ips.unwrap_or_default(),
            rate_limit_per_second: rate,
            webhook_disabled: required(self.webhook_disabled, "channel webhook_disabled")?,
            created_at: time(required(self.created_at, "channel created_at")?)?,
            updated_at: time(required(self.updated_at, "channel updated_at")?)?,
            // Null on rows written before the rule columns: no rule.
            stock_rule: ChannelStockRule {
                stock_buffer: self.stock_buffer.unwrap_or(0),
                stock_buffer_percent: self.stock_buffer_percent.unwrap_or(0),
                stock_floor: self.stock_floor.unwrap_or(0),
            },
        })
    }
}

/// A `tokens` row.
#[derive(Debug, DeserializeRow)]
struct TokenRow {
    id: String,
    name: Option<String>,
    token_role: Option<String>,
    channel_id: Option<String>,
    token_hash: Option<Vec<u8>>,
    created_at: Option<i64>,
    revoked: Option<bool>,
}

impl TokenRow {
    /// The token, unless it is revoked.
    fn into_live(self) -> Result<Option<TokenRecord>> {
        if self.revoked != Some(false) {
            return Ok(None);
        }
        let role = required(self.token_role, "token role")?;
        let role =
            Role::parse(&role).ok_or_else(|| Error::Corrupt(format!("unknown role {role:?}")))?;
        Ok(Some(TokenRecord {
            id: self.id,
            name: required(self.name, "token name")?,
            role,
            channel_id: self.channel_id,
            token_hash: required(self.token_hash, "token hash")?,
            created_at: time(required(self.created_at, "token created_at")?)?,
        }))
    }
}

/// The channel fields after the id, in `UpdateChannel`'s order.
fn channel_fields(c: &Channel) -> Values {
    vec![
        text(&c.name),
        opt_text(c.webhook_url.as_deref()),
        text(&c.webhook_secret),
        text_list(&c.allowed_ips),
        opt_big(c.rate_limit_per_second.map(i64::from)),
        boolean(c.webhook_disabled),
        at(&c.created_at),
        at(&c.updated_at),
        big(c.stock_rule.stock_buffer),
        big(c.stock_rule.stock_buffer_percent),
        big(c.stock_rule.stock_floor),
    ]
}

impl Inner {
    /// Stores a new channel; `Conflict` if its id is taken.
    pub(crate) async fn insert_channel(&self, c: &Channel) -> Result<()> {
        let mut values = vec![text(&c.id)];
        values.extend(channel_fields(c));
        if !self.lwt(Stmt::InsertChannel, values).await? {
            return Err(Error::Conflict(format!("channel {} exists", c.id)));
        }
        Ok(())
    }

    /// Replaces a channel's fields; `Conflict` if there is no such channel.
    pub(crate) async fn update_channel(&self, c: &Channel) -> Result<()> {
        let mut values = channel_fields(c);
        values.push(text(&c.id));
        values.push(at(&c.created_at));
        if !self.lwt(Stmt::UpdateChannel, values).await? {
            return Err(Error::Conflict(format!("no channel {}", c.id)));
        }
        Ok(())
    }

    /// One channel.
    pub(crate) async fn get_channel(&self, id: &str) -> Result<Option<Channel>> {
        self.row::<ChannelRow>(Stmt::GetChannel, vec![text(id)])
            .await?
            .map(ChannelRow::into_channel)
            .transpose()
    }

    /// Every channel, by id (a full scan: channels are few).
    pub(crate) async fn list_channels(&self) -> Result<Vec<Channel>> {
        let mut channels = self
            .scan::<ChannelRow>(Stmt::AllChannels, vec![])
            .await?
            .into_iter()
            .map(ChannelRow::into_channel)
            .collect::<Result<Vec<_>>>()?;
        channels.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(channels)
    }

    /// Stores a token: claims its hash, then its id; `Conflict` (and the
    /// claim given back) if either is taken.
    pub(crate) async fn insert_token(&self, t: &TokenRecord) -> Result<()> {
        if !self
            .lwt(Stmt::ClaimTokenHash, vec![blob(&t.token_hash), text(&t.id)])
            .await?
        {
            return Err(Error::Conflict(format!(
                "token {} or its hash exists",
                t.id
            )));
        }
        let inserted = self
            .lwt(
                Stmt::InsertToken,
                vec![
                    text(&t.id),
                    text(&t.name),
                    text(t.role.as_str()),
                    opt_text(t.channel_id.as_deref()),
                    blob(&t.token_hash),
                    at(&t.created_at),
                ],
            )
            .await?;
        if !inserted {
            self.lwt(
                Stmt::ReleaseTokenHash,
                vec![blob(&t.token_hash), text(&t.id)],
            )
            .await?;
            return Err(Error::Conflict(format!(
                "token {} or its hash exists",
                t.id
            )));
        }
        self.exec(Stmt::PutLiveToken, vec![text(t.role.as_str()), text(&t.id)])
            .await
    }

    /// The unrevoked token with this hash.
    pub(crate) async fn token_by_hash(&self, hash: &[u8]) -> Result<Option<TokenRecord>> {
        let Some((id,)) = self
            .row::<(Option<String>,)>(Stmt::TokenIdByHash, vec![blob(hash)])
            .await?
        else {
            return Ok(None);
        };
        let Some(id) = id else { return Ok(None) };
        Ok(self.live_token(&id).await?.filter(|t| t.token_hash == hash))
    }

    /// Revokes a token now; false if there is no such unrevoked token.
    pub(crate) async fn revoke_token(&self, id: &str) -> Result<bool> {
        let Some(token) = self.live_token(id).await? else {
            return Ok(false);
        };
        let now = chrono::Utc::now();
        if !self
            .lwt(Stmt::RevokeToken, vec![at(&now), text(id)])
            .await?
        {
            return Ok(false);
        }
        self.exec(
            Stmt::DelLiveToken,
            vec![text(token.role.as_str()), text(id)],
        )
        .await?;
        Ok(true)
    }

    /// True when some unrevoked admin token exists.
    pub(crate) async fn has_admin_token(&self) -> Result<bool> {
        let ids = self
            .scan::<(String,)>(Stmt::LiveTokens, vec![text(Role::Admin.as_str())])
            .await?;
        for (id,) in ids {
            if self
                .live_token(&id)
                .await?
                .is_some_and(|t| t.role == Role::Admin)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn live_token(&self, id: &str) -> Result<Option<TokenRecord>> {
        Ok(self
            .row::<TokenRow>(Stmt::GetToken, vec![text(id)])
            .await?
            .map(TokenRow::into_live)
            .transpose()?
            .flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_rows_decode_empty_lists_and_large_limits() {
        let row = ChannelRow {
            id: "ch".into(),
            name: Some("Shop".into()),
            webhook_url: None,
            webhook_secret: Some("whsec".into()),
            allowed_ips: None,
            rate_limit_per_second: Some(i64::from(u32::MAX)),
            webhook_disabled: Some(true),
            created_at: Some(1),
            updated_at: Some(2),
            stock_buffer: None,
            stock_buffer_percent: Some(40),
            stock_floor: None,
        };
        let c = row.into_channel().expect("channel");
        assert!(c.allowed_ips.is_empty());
        assert_eq!(
            c.stock_rule,
            agusto_schemas::ChannelStockRule {
                stock_buffer: 0,
                stock_buffer_percent: 40,
                stock_floor: 0,
            },
            "null rule columns (rows from before the rule) are 0"
        );
        assert_eq!(c.rate_limit_per_second, Some(u32::MAX));
        assert_eq!(channel_fields(&c)[4], big(i64::from(u32::MAX)));
    }

    #[test]
    fn revoked_or_unknown_tokens_are_not_live() {
        let row = |revoked| TokenRow {
            id: "tok".into(),
            name: Some("n".into()),
            token_role: Some("admin".into()),
            channel_id: None,
            token_hash: Some(vec![1, 2]),
            created_at: Some(5),
            revoked,
        };
        assert!(row(Some(false)).into_live().expect("live").is_some());
        assert!(row(Some(true)).into_live().expect("revoked").is_none());
        assert!(row(None).into_live().expect("half-written").is_none());
        let mut bad = row(Some(false));
        bad.token_role = Some("root".into());
        assert!(matches!(bad.into_live(), Err(Error::Corrupt(_))));
    }
}
