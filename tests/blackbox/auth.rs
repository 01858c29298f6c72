//! The upgrade is authenticated before 101; logins and logouts.

use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::{Fixture, WsClient};

fn status_of(result: Result<WsClient, WsError>) -> u16 {
    match result {
        Err(WsError::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("expected an HTTP refusal, got {other:?}"),
        Ok(_) => panic!("expected an HTTP refusal, got an upgrade"),
    }
}

#[tokio::test]
async fn no_or_bad_credentials_get_401_before_any_upgrade() {
    let fx = Fixture::new(1, &[]).await;
    let request = fx.server.ws_url().into_client_request().unwrap();
    assert_eq!(status_of(WsClient::open(request).await), 401);

    let mut request = fx.server.ws_url().into_client_request().unwrap();
    request.headers_mut().insert(
        "authorization",
        "Bearer sbs_not-a-real-token".parse().unwrap(),
    );
    assert_eq!(status_of(WsClient::open(request).await), 401);
}

#[tokio::test]
async fn a_foreign_browser_origin_gets_403_and_the_own_host_is_fine() {
    let fx = Fixture::new(
        1,
        &[("SWITCHBOARD_ALLOWED_ORIGINS", "https://console.acme.test")],
    )
    .await;
    let token = &fx.agents[0].token;
    let with_origin = |origin: &str| {
        let mut request = fx.server.ws_url().into_client_request().unwrap();
        let h = request.headers_mut();
        h.insert("authorization", format!("Bearer {token}").parse().unwrap());
        h.insert("origin", origin.parse().unwrap());
        request
    };
    assert_eq!(
        status_of(WsClient::open(with_origin("https://evil.test")).await),
        403
    );
    let own = format!("http://{}", fx.server.addr);
    let c = WsClient::open(with_origin(&own))
        .await
        .expect("same host is allowed");
    assert_eq!(c.welcome.user.id, fx.agents[0].id);
    WsClient::open(with_origin("https://console.acme.test"))
        .await
        .expect("an allowed origin");
}

#[tokio::test]
async fn the_login_cookie_authenticates_the_upgrade() {
    let fx = Fixture::new(1, &[]).await;
    let response = reqwest::Client::new()
        .post(fx.server.http("/v1/auth/login"))
        .json(&serde_json::json!({"email": fx.agents[0].email, "password": crate::support::server::PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_owned();
    let mut request = fx.server.ws_url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("cookie", pair.parse().unwrap());
    let c = WsClient::open(request).await.expect("cookie upgrade");
    assert_eq!(c.welcome.user.id, fx.agents[0].id);
    assert_eq!(c.welcome.user.account_id, fx.account);
    assert_eq!(c.welcome.heartbeat_ms, 25_000);
}

#[tokio::test]
async fn wrong_passwords_and_unknown_emails_get_the_same_401() {
    let fx = Fixture::new(1, &[]).await;
    let client = reqwest::Client::new();
    for (email, password) in [
        (fx.agents[0].email.as_str(), "wrong password"),
        ("nobody@acme.test", "whatever1"),
    ] {
        let response = client
            .post(fx.server.http("/v1/auth/login"))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");
        assert_eq!(body["error"]["message"], "wrong email or password");
    }
    let response = client
        .post(fx.server.http("/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{\"email\":")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn logout_ends_the_token_and_closes_its_sockets() {
    let fx = Fixture::new(1, &[]).await;
    let token = fx.agents[0].token.clone();
    let mut live = WsClient::connect(&fx.server, &token).await;
    let response = reqwest::Client::new()
        .post(fx.server.http("/v1/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(
        live.closed().await,
        crate::support::client::Ended::Closed(Some(1008))
    );
    let mut request = fx.server.ws_url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    assert_eq!(status_of(WsClient::open(request).await), 401);
}
