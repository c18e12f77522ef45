"""Ads: finished ad creatives made from the team's products.

An ad is one generation of type `ad` on the offline engine: its N images are its outputs
(priced per image), each the product's cut-out placed in a painted scene with Studio's own
text layer on top (hook, headline, body, CTA) laid out per style and aspect ratio. Each ad
image is also stored without the text layer (an Asset with role `plain`), so the copy can be
edited and the text re-set later without paying for a new image.

Rooms: `styles` (the styles and their layouts, as data), `copywriter` (the copy: a chat
model when the team has one, else rules), `compose` (the text layer, contrast-checked),
`render` (the job: scene, product, text), `services` (start, edit copy), `api`, `views`.
"""
