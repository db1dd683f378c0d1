-- tags/clv_1y

