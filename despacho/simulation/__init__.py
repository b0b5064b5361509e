"""`despacho simulate month`: a seeded month of a call center driven through the real application in-process.

The application is built as `despacho serve` builds it (composition root, projectors, followers, actors) on
an injected clock the simulation moves; customers write over the signed Twilio webhook, Twilio's status
callbacks come back over the signed status webhook, agents and supervisors act through the use cases the desk
calls. Everything the log hands out is worked off in the simulation's own thread, so one seed gives one run.
"""
