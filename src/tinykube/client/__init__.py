"""Client library: one API over two transports, informers, workqueues, leader election."""
