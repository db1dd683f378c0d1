-- tags/repurchase_30d

