//! The ratatui wizard: a view over the session; never talks to the database
//! itself and never blocks the render loop.
