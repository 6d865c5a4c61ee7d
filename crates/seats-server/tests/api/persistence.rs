//! A change survives a restart of the server on the same database file.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn patch_then_restart_reads_the_change_back() {
    let app = spawn_app(&test_seed()).await;
    let (status, before) = parts(app.patch_seats(&json!([item("bob", true, false)])).await).await;
    assert_eq!(status, 200);
    let (dir, path) = app.stop().await;

    let app = spawn_on(dir, path).await;
    let bob = app.user("bob").await;
    assert_eq!((bob.access_seat, bob.gateway_seat), (true, false));
    // Over HTTP: repeating the change is a no-op that returns the stored seat unchanged.
    let (_, after) = parts(app.patch_seats(&json!([item("bob", true, false)])).await).await;
    assert_eq!(after["result"], before["result"]);
}
