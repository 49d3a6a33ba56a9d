//! The operations the host calls on a channel service, each a name on the wire with JSON
//! arguments and a JSON answer, typed like the [provider operations](super::provider).
//!
//! | op | arguments | answer |
//! |---|---|---|
//! | `describe` | none | [`ChannelInfo`] |
//! | `deliver` | [`Outbound`] | `Result<`[`Delivery`]`, `[`ChannelError`]`>` |
//! | `parse_delivery` | [`ParseDeliveryArgs`] | `Result<`[`Receipt`]`, ChannelError>` |
//! | `inbound` | [`InboundRequest`] | [`Inbound`] |
//! | `poll` | [`PollArgs`] | `Option<`[`HttpRequest`]`>` |
//! | `parse_poll` | [`HttpResponse`] | `Result<`[`Polled`]`, ChannelError>` |
//! | `setup` | none | `Vec<HttpRequest>` |
//!
//! ```
//! use hypernet_plugin_api::protocol::channel::{Deliver, Op, Operation};
//! assert_eq!(Deliver::OP.name(), "deliver");
//! assert_eq!("parse_poll".parse::<Op>().unwrap(), Op::ParsePoll);
//! assert_eq!(
//!     "send".parse::<Op>().unwrap_err().to_string(),
//!     "unknown channel operation `send`",
//! );
//! ```

use super::sealed::Sealed;
use crate::PluginError;
use crate::channel::{
    ChannelError, ChannelInfo, Delivery, HttpRequest, HttpResponse, Inbound, InboundRequest,
    Outbound, Polled, Receipt,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::borrow::Cow;

macro_rules! channel_ops {
    ($($ty:ident = $name:literal, $args:ty => $answer:ty, $doc:literal;)*) => {
        /// A channel operation.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Op {
            $(#[doc = $doc] $ty,)*
        }

        impl Op {
            /// Every operation.
            pub const ALL: &'static [Op] = &[$(Op::$ty,)*];

            /// The wire name.
            pub fn name(self) -> &'static str {
                match self {
                    $(Op::$ty => $name,)*
                }
            }
        }

        $(
            #[doc = $doc]
            #[derive(Debug, Clone, Copy)]
            pub struct $ty;
            impl Sealed for $ty {}
            impl Operation for $ty {
                const OP: Op = Op::$ty;
                type Args<'a> = $args;
                type Answer = $answer;
            }
        )*
    };
}

channel_ops! {
    Describe = "describe", () => ChannelInfo, "`describe`: what the channel can do.";
    Deliver = "deliver", Outbound => Result<Delivery, ChannelError>, "`deliver`: a message turned into what the host should do.";
    ParseDelivery = "parse_delivery", ParseDeliveryArgs<'a> => Result<Receipt, ChannelError>, "`parse_delivery`: the answer to one delivery request read.";
    HandleInbound = "inbound", InboundRequest => Inbound, "`inbound`: an HTTP request the host received for the channel handled.";
    Poll = "poll", PollArgs => Option<HttpRequest>, "`poll`: the request that fetches new commands, if the channel polls.";
    ParsePoll = "parse_poll", HttpResponse => Result<Polled, ChannelError>, "`parse_poll`: the answer to a poll read.";
    Setup = "setup", () => Vec<HttpRequest>, "`setup`: the requests that set the channel up on its service.";
}

impl Op {
    /// The operation with this wire name.
    ///
    /// ```
    /// use hypernet_plugin_api::protocol::channel::Op;
    /// assert!(Op::ALL.iter().all(|op| Op::from_name(op.name()) == Some(*op)));
    /// ```
    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.iter().copied().find(|op| op.name() == name)
    }
}

impl std::str::FromStr for Op {
    /// [`ErrorCode::NotFound`](crate::ErrorCode::NotFound), naming the operation.
    type Err = PluginError;

    fn from_str(name: &str) -> Result<Op, PluginError> {
        Op::from_name(name)
            .ok_or_else(|| PluginError::not_found(format!("unknown channel operation `{name}`")))
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One channel operation's types: the host sends `Args` and reads `Answer`; the plugin
/// reads `Args` and sends `Answer`.
pub trait Operation: Sealed {
    /// Which operation.
    const OP: Op;
    /// Its arguments. `'a` lets the host send borrowed values without copying them.
    type Args<'a>: Serialize + DeserializeOwned;
    /// Its answer.
    type Answer: Serialize + DeserializeOwned;
}

/// The arguments of `parse_delivery`: the message, which request of its delivery, and the
/// answer to it.
///
/// ```
/// use hypernet_plugin_api::channel::{HttpResponse, Outbound};
/// use hypernet_plugin_api::protocol::channel::ParseDeliveryArgs;
/// let message = Outbound { id: "M-000001".into(), text: "hi".into(), ..Default::default() };
/// let response = HttpResponse { status: 204, headers: vec![], body: String::new() };
/// let json = serde_json::to_string(&ParseDeliveryArgs::new(&message, 0, &response)).unwrap();
/// let back: ParseDeliveryArgs<'static> = serde_json::from_str(&json).unwrap();
/// assert_eq!((back.message.id.as_str(), back.response.status), ("M-000001", 204));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParseDeliveryArgs<'a> {
    /// The message.
    pub message: Cow<'a, Outbound>,
    /// The index of the request in [`Delivery::Http`].
    pub part: usize,
    /// Its answer.
    pub response: Cow<'a, HttpResponse>,
}

impl<'a> ParseDeliveryArgs<'a> {
    /// Arguments borrowing the message and the response.
    pub fn new(message: &'a Outbound, part: usize, response: &'a HttpResponse) -> Self {
        ParseDeliveryArgs {
            message: Cow::Borrowed(message),
            part,
            response: Cow::Borrowed(response),
        }
    }
}

/// The arguments of `poll`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollArgs {
    /// The cursor the last poll returned, if any.
    #[serde(default)]
    pub cursor: Option<String>,
}
