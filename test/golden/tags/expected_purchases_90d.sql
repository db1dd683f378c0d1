-- tags/expected_purchases_90d

