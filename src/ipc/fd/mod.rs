//! The fd-event family: eventfd, signalfd and timerfd, and the timer queue
//! that arms timerfds.

pub mod eventfd;
pub mod signalfd;
pub mod timerfd;
pub mod timers;
