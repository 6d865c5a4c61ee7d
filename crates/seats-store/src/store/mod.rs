//! The storage operations the service needs, one trait per resource. Each backend implements
//! every trait, in a file named after it (`sqlite/users.rs` implements [`UserStore`], and so
//! does `postgres/users.rs`), so the two can be read side by side.
//!
//! Implementations must be safe to share between tasks and, for the seat limit, between
//! processes using the same database. Handlers hold an `Arc<dyn Store>`; bring the traits into
//! scope with `use seats_store::store::*` to call them.

mod accounts;
mod audit;
mod budgets;
mod credentials;
mod dashboard_sessions;
mod devices;
mod identity_providers;
mod logins;
mod maintenance;
mod organizations;
mod scim;
mod seats;
mod users;

pub use accounts::AccountStore;
pub use audit::AuditStore;
pub use budgets::{BudgetLease, BudgetStore};
pub use credentials::CredentialStore;
pub use dashboard_sessions::DashboardStore;
pub use devices::DeviceStore;
pub use identity_providers::IdentityProviderStore;
pub use logins::LoginStore;
pub use maintenance::{DatabaseImage, MaintenanceStore, PendingImage};
pub use organizations::OrganizationStore;
pub use scim::ScimStore;
pub use seats::SeatStore;
pub use users::UserStore;

/// Every resource of the service: what a backend is. Implemented for every type that
/// implements all the resource traits.
pub trait Store:
    AccountStore
    + AuditStore
    + BudgetStore
    + CredentialStore
    + DashboardStore
    + DeviceStore
    + IdentityProviderStore
    + LoginStore
    + MaintenanceStore
    + OrganizationStore
    + ScimStore
    + SeatStore
    + UserStore
    + 'static
{
}

impl<T> Store for T where
    T: AccountStore
        + AuditStore
        + BudgetStore
        + CredentialStore
        + DashboardStore
        + DeviceStore
        + IdentityProviderStore
        + LoginStore
        + MaintenanceStore
        + OrganizationStore
        + ScimStore
        + SeatStore
        + UserStore
        + 'static
{
}
