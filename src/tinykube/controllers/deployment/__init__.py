"""The Deployment controller, split by concern as upstream's: util (pure arithmetic), sync
(new ReplicaSet, scaling, cleanup, status), rolling, recreate, and the controller loop."""
