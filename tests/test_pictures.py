"""course_utils.pictures: one colour scale, one filled-contour picture and one minimum marker for every
picture of an error surface."""
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from course_utils import pictures
from course_utils.surfaces import Surface, elongated_bowl, gradient_descent, grid


def test_draw_surface_and_path_label_the_axes_and_keep_the_window():
    surface = Surface("bowl", elongated_bowl().loss, (-2.0, 2.0), (-1.0, 1.0), minimum=(0.0, 0.0))
    ax = Figure().subplots()
    pictures.draw_surface(surface, ax, n=20)
    pictures.draw_path(gradient_descent(surface, (-1.5, 0.8), 0.2, 10), ax, color="red", label="GD")
    assert (ax.get_xlabel(), ax.get_ylabel()) == (r"$\theta_1$", r"$\theta_2$")
    assert ax.get_xlim() == (-2.0, 2.0) and ax.get_ylim() == (-1.0, 1.0)
    assert [line.get_label() for line in ax.get_lines()].count("GD") == 1


def test_log_scale_starts_at_minus_three_at_the_minimum_and_keeps_a_value_below_a_given_floor_finite():
    L = np.array([2.0, 2.5, 12.0])
    assert pictures.log_scale(L).tolist() == pytest.approx([-3.0, np.log10(0.501), np.log10(10.001)])
    assert pictures.log_scale(torch.tensor(L)).dtype == torch.float64
    assert pictures.log_scale(np.array([1.0]), floor=2.0).tolist() == [-3.0]


@pytest.mark.parametrize("figsize, dpi, box", [((6.0, 3.0), 80, (0.1, 0.15, 0.8, 0.7)), ((4.0, 4.0), 200, (0.2, 0.2, 0.5, 0.6))])
def test_axes_pixels_is_the_axes_size_on_the_saved_picture(figsize, dpi, box):
    fig = Figure(figsize=figsize, dpi=dpi)
    ax = fig.add_axes(box)
    fig.canvas.draw()
    extent = ax.get_window_extent()
    assert pictures.axes_pixels(ax) == (round(extent.width), round(extent.height))


@pytest.mark.parametrize("extend", ["neither", "min", "max", "both"])
def test_filled_contours_colour_each_value_as_contourf_colours_its_band(extend):
    levels = (0.0, 1.0, 2.0, 4.0)
    colors = pictures.band_colors(levels, extend)
    bands = Figure().subplots().contourf(np.eye(2), levels=list(levels), cmap="viridis", extend=extend)
    assert np.abs(colors[:, :3] / 255 - bands.get_facecolor()[:, :3]).max() <= 0.5 / 255
    values = np.array([-1.0, 0.5, 1.0, 1.5, 3.0, 5.0])        # below, in the bands (z₁ < z ≤ z₂), above
    picture = pictures.filled_contours(values, levels, extend)
    first = 1 if extend in ("min", "both") else 0
    expected = [0, first, first, first + 1, first + 2,
                len(colors) - 1 if extend in ("max", "both") else first + 2]
    assert [int(np.flatnonzero((colors == pixel).all(axis=1))[0]) for pixel in picture] == expected


def test_surface_picture_fills_the_axes_pixel_for_pixel_and_marks_the_minimum():
    fig = Figure(figsize=(5.0, 3.0), dpi=100)
    ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
    surface = elongated_bowl(0.1, 2.0)
    pictures.surface_picture(surface, ax, n=30, levels=8)
    (shown,) = [artist for artist in ax.get_children() if isinstance(artist, pictures.AxesPicture)]
    picture = shown.rgba
    assert picture.shape == (240, 400, 4) and (ax.get_xlim(), ax.get_ylim()) == (surface.xlim, surface.ylim)
    T1, T2, L = grid(surface, 30)
    assert len(np.unique(picture.reshape(-1, 4), axis=0)) == len(pictures.contour_levels(pictures.log_scale(L).numpy(), 8)) - 1
    star = [line for line in ax.get_lines() if line.get_marker() == "*"]
    assert len(star) == 1 and tuple(star[0].get_xydata()[0]) == surface.minimum
    centre = picture[120, 200]
    assert (centre == pictures.band_colors(pictures.contour_levels(pictures.log_scale(L).numpy(), 8), "neither", 0.9)[0]).all()


@pytest.mark.parametrize("dpi", [100, 150])
def test_a_picture_of_the_axes_is_drawn_pixel_for_pixel_in_their_box_at_any_dpi(dpi):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=(5.0, 3.0), dpi=100)
    ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
    ax.set_axis_off()
    ax.set(xlim=(0, 1), ylim=(0, 1))
    width, height = pictures.axes_pixels(ax)
    rgba = np.zeros((height, width, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[:, : width // 2, 0] = 255                     # red on the left half, blue on the right, rows from the bottom
    rgba[:, width // 2:, 2] = 255
    rgba[: height // 4, :, 1] = 255                    # the bottom quarter has green
    pictures.show_picture(ax, rgba, (0, 1), (0, 1))
    assert not ax.get_images()                         # drawn as it is, not through imshow
    fig.set_dpi(dpi)                                   # drawn at another size: resampled to the box
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    shown = np.asarray(canvas.buffer_rgba())[::-1]     # rows from the bottom
    box = ax.bbox
    x0, y0, w, h = round(box.x0), round(box.y0), round(box.width), round(box.height)
    inside = shown[y0:y0 + h, x0:x0 + w]
    expected = rgba[np.arange(h) * height // h][:, np.arange(w) * width // w]
    assert np.array_equal(inside, expected)
    assert (shown[y0 - 1, x0:x0 + w, :3] == 255).all()     # white outside the box

