"""Schedule: the register, the calendar, the tick and the emails it sends."""
