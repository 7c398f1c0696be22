"""Getting letters to people: each channel one module, driven by one run through the contact log.

`channel.py` is the contract (`Channel`, `Letter`, `Outcome`); `run.py` the plan, the send lock and the loop, the
same for every channel; `email.py` the first channel, e-mail over SMTP. A new channel (post, OAuth mail) is a new
module here implementing `Channel`, not a copy of the loop.
"""
