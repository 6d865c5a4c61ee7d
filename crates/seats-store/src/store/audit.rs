//! The audit log of an account.

use async_trait::async_trait;

use crate::model::AuditRecord;
use crate::StoreResult;

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Audit events of an account, newest first, and their total count.
    async fn audit_events(&self, account_id: &str, page: u64, per_page: u64) -> StoreResult<(Vec<AuditRecord>, u64)>;
}
