-- tags/expected_order_value

