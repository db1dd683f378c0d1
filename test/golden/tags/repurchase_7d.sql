-- tags/repurchase_7d

