//! Every network call the app makes: the storefront API, same origin. Pages call these and nothing else.

use gloo_net::http::{Request, RequestBuilder};
use ranking::api::{FeedResponse, Problem, ProductResponse, SearchResponse};
use serde::de::DeserializeOwned;

/// Why an API call failed, worded for the shopper by [`ApiError::message`].
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// No answer at all (offline, server down).
    Network,
    /// The API answered with an error; `detail` comes from its problem+json body.
    Status { status: u16, detail: String },
    /// The answer could not be read.
    Decode,
}

impl ApiError {
    pub fn message(&self) -> String {
        match self {
            ApiError::Network => "We couldn't reach the shop. Check your connection and try again.".into(),
            ApiError::Status { status: 404, .. } => "We couldn't find that.".into(),
            ApiError::Status { status, detail } if *status < 500 => format!("That didn't work: {detail}"),
            ApiError::Status { .. } => {
                "The shop is having trouble right now. Please try again shortly.".into()
            }
            ApiError::Decode => "Something went wrong reading the shop's answer. Please try again.".into(),
        }
    }
}

async fn get_json<T: DeserializeOwned>(req: RequestBuilder) -> Result<T, ApiError> {
    let resp = req.send().await.map_err(|_| ApiError::Network)?;
    if !resp.ok() {
        let status = resp.status();
        let detail = match resp.json::<Problem>().await {
            Ok(p) => p.detail,
            Err(_) => resp.status_text(),
        };
        return Err(ApiError::Status { status, detail });
    }
    resp.json::<T>().await.map_err(|_| ApiError::Decode)
}

/// The home feed's sections (no history is sent yet: personalization on the device comes next).
pub async fn feed(limit: usize) -> Result<FeedResponse, ApiError> {
    get_json(Request::get("/api/feed").query([("limit", limit.to_string())])).await
}

pub async fn search(q: &str, page: usize) -> Result<SearchResponse, ApiError> {
    get_json(Request::get("/api/search").query([("q", q.to_owned()), ("page", page.to_string())])).await
}

pub async fn product(id: &str) -> Result<ProductResponse, ApiError> {
    let id = String::from(js_sys::encode_uri_component(id));
    get_json(Request::get(&format!("/api/products/{id}"))).await
}
