use crate::helpers::spawn_app;

#[tokio::test]
async fn the_root_redirects_to_the_dashboard() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for path in ["/", "/dashboard"] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert!(response.status().is_redirection(), "{path}: {}", response.status());
        assert_eq!(response.headers()["location"], "/dashboard/");
    }
}

#[tokio::test]
async fn the_dashboard_assets_are_served_with_their_types_and_validators() {
    let app = spawn_app().await;
    for (path, content_type) in [
        ("/dashboard/", "text/html; charset=utf-8"),
        ("/dashboard/app.js", "text/javascript; charset=utf-8"),
        ("/dashboard/app.css", "text/css; charset=utf-8"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], content_type, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-cache", "{path}");
        let etag = response.headers()["etag"].to_str().unwrap().to_owned();

        let again = app.client.get(app.url(path)).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(again.status(), 304, "{path} revalidates");
    }
}

#[tokio::test]
async fn the_page_needs_no_inline_code_or_styles() {
    // A strict Content-Security-Policy (script-src 'self'; style-src 'self') would block them.
    let app = spawn_app().await;
    let html = app.get("/dashboard/").await.text().await.unwrap();
    assert!(!html.contains("style="), "no style attributes");
    assert!(!html.contains("<style"), "no style elements");
    for script in html.split("<script").skip(1) {
        assert!(script.trim_start().contains("src=\"/dashboard/"), "scripts are files: {script}");
        assert!(
            script.split_once('>').is_some_and(|(_, rest)| rest.starts_with("</script>")),
            "no inline code"
        );
    }
    let js = app.get("/dashboard/app.js").await.text().await.unwrap();
    for forbidden in ["eval(", "innerHTML", "new Function", "setAttribute('style'"] {
        assert!(!js.contains(forbidden), "app.js uses {forbidden}");
    }
}

#[tokio::test]
async fn unknown_dashboard_files_are_404_problems() {
    let app = spawn_app().await;
    crate::helpers::assert_problem(app.get("/dashboard/secret.txt").await, 404).await;
}
