//! The server functions: the seam between the browser and the server. Each is declared here
//! for both builds (the browser's calls name them, [`calls`]); its body runs on the server
//! only, in `server/`.

pub mod calls;
pub mod cart;
pub mod payments;
