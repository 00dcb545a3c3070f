def old_call(value):
    return value
