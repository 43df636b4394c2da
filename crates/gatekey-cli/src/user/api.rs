//! `gatekey api`: call the REST API with the saved login, as `gh api` does.

use clap::Args;
use gatekey_client::Method;

use super::ConnectionArgs;

/// `gatekey api` options.
#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    /// The path, such as /api/v1/me.
    path: String,
    /// The HTTP method.
    #[arg(short = 'X', long = "method", default_value = "GET", value_parser = parse_method)]
    method: Method,
    /// A JSON body.
    #[arg(long, value_parser = parse_json)]
    data: Option<serde_json::Value>,
    /// Follow every page of a list and print all its items as one array.
    #[arg(long)]
    paginate: bool,
    #[command(flatten)]
    connection: ConnectionArgs,
}

fn parse_method(text: &str) -> Result<Method, String> {
    match text.to_ascii_uppercase().as_str() {
        "GET" => Ok(Method::GET),
        "POST" => Ok(Method::POST),
        "PUT" => Ok(Method::PUT),
        "PATCH" => Ok(Method::PATCH),
        "DELETE" => Ok(Method::DELETE),
        other => Err(format!(
            "{other} is not one of GET, POST, PUT, PATCH, DELETE"
        )),
    }
}

fn parse_json(text: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))
}

pub async fn run(args: ApiArgs) -> anyhow::Result<()> {
    if !args.path.starts_with('/') {
        anyhow::bail!("the path must start with /, such as /api/v1/me");
    }
    let client = args.connection.client()?;
    let answer = if args.paginate {
        serde_json::Value::Array(client.paginate(&args.path).await?)
    } else {
        client
            .request(args.method, &args.path, args.data.as_ref())
            .await?
            .1
    };
    if !answer.is_null() {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    }
    Ok(())
}
