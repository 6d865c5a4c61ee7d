//! What the Go example of Cloudflare's documentation does, in Rust: remove a user from their
//! Zero Trust seat.
//!
//! ```sh
//! cargo run --release -- serve --demo &
//! CLOUDFLARE_BASE_URL=http://127.0.0.1:8788/client/v4 \
//! CLOUDFLARE_API_TOKEN=Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY \
//!   cargo run -p seats-client-example
//! ```

use seats_client::{Client, SeatEditParams, SeatEditParamsBody};

#[tokio::main]
async fn main() -> Result<(), seats_client::Error> {
    let client = Client::from_env()?;
    let page = client
        .zero_trust()
        .seats()
        .edit(SeatEditParams {
            account_id: "699d98642c564d2e855e9661899b7252".into(),
            body: vec![SeatEditParamsBody {
                access_seat: false,
                gateway_seat: false,
                seat_uid: "f174e90a-fafe-4643-bbbc-4a0ed4fc8415".into(),
            }],
        })
        .await?;
    println!("{page:#?}");
    Ok(())
}
