"""One TerraformStack per Leverage layer, each composing constructs from aws_constructs."""
