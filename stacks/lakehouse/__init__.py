"""The lakehouse layer: the Glue job that turns DynamoDB change records into current-state Iceberg tables."""
