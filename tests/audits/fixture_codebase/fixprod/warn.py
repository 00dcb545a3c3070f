def odd(x):
    return x is 1
